//! The poll loop against a recording fake: outputs off first and last, changes applied at
//! once, climate on its interval, inputs on edges and after debounce.

use super::*;
use crate::guard::tests::{Call, Recording};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

const CLOSED: LockInputs = LockInputs {
    bolt_locked: true,
    bolt_unlocked: false,
    door_open: false,
};
const OPEN: LockInputs = LockInputs {
    door_open: true,
    ..CLOSED
};
const READING: ClimateReading = ClimateReading {
    temperature: 20.5,
    humidity: None,
};

struct Rig {
    fake: Recording,
    events: mpsc::Receiver<HardwareEvent>,
    outputs: watch::Sender<DesiredOutputs>,
    task: JoinHandle<Result<(), HardwareError>>,
}

fn start(fake: Recording, cfg: PollerConfig) -> Rig {
    *fake.climate.lock().unwrap() = Some(READING);
    let (ev_tx, events) = mpsc::channel(16);
    let (outputs, out_rx) = watch::channel(DesiredOutputs::default());
    let task = tokio::spawn(run_poller(Box::new(fake.clone()), cfg, ev_tx, out_rx));
    Rig {
        fake,
        events,
        outputs,
        task,
    }
}

fn with_edges() -> Recording {
    Recording {
        notify: Some(Arc::new(Notify::new())),
        ..Recording::default()
    }
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened: {what}");
}

const OFF_CALLS: [Call; 2] = [Call::Hvac(HvacOutputs::OFF), Call::Motor(MotorDrive::Off)];

#[tokio::test(start_paused = true)]
async fn outputs_go_off_before_the_first_read_and_when_control_ends() {
    let mut rig = start(Recording::default(), PollerConfig::default());
    let first = rig.events.recv().await.unwrap();
    assert!(
        matches!(first, HardwareEvent::Inputs { inputs: CLOSED, .. }),
        "{first:?}"
    );
    assert_eq!(rig.fake.calls(), OFF_CALLS);
    let heat = DesiredOutputs {
        hvac: HvacOutputs {
            heat: true,
            ..HvacOutputs::OFF
        },
        motor: MotorDrive::Off,
    };
    rig.outputs.send(heat).unwrap();
    drop(rig.outputs);
    rig.task.await.unwrap().unwrap();
    let calls = rig.fake.calls();
    assert_eq!(calls[2], Call::Hvac(heat.hvac));
    assert_eq!(calls[calls.len() - 2..], OFF_CALLS);
}

#[tokio::test(start_paused = true)]
async fn output_changes_are_applied_at_once() {
    let mut rig = start(Recording::default(), PollerConfig::default());
    rig.events.recv().await.unwrap();
    let t0 = Instant::now();
    let lock = DesiredOutputs {
        hvac: HvacOutputs::OFF,
        motor: MotorDrive::Locking,
    };
    rig.outputs.send(lock).unwrap();
    let fake = rig.fake.clone();
    until("motor driven", || {
        fake.calls().contains(&Call::Motor(MotorDrive::Locking))
    })
    .await;
    assert_eq!(Instant::now(), t0, "no poll interval in between");
    // Only what changed is written.
    assert_eq!(rig.fake.calls().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn climate_is_read_every_poll_interval() {
    let cfg = PollerConfig {
        poll_interval: Duration::from_secs(10),
        ..PollerConfig::default()
    };
    let mut rig = start(Recording::default(), cfg);
    let t0 = Instant::now();
    let mut times = Vec::new();
    while times.len() < 7 {
        if let HardwareEvent::Climate { at, reading } = rig.events.recv().await.unwrap() {
            assert_eq!(reading, Ok(READING));
            times.push(at.duration_since(t0).as_secs());
        }
    }
    assert_eq!(times, [0, 10, 20, 30, 40, 50, 60]);
}

#[tokio::test(start_paused = true)]
async fn an_edge_is_read_at_once_not_at_the_next_poll() {
    let cfg = PollerConfig {
        input_poll_interval: Duration::from_secs(5),
        poll_interval: Duration::from_secs(3600),
        ..PollerConfig::default()
    };
    let fake = with_edges();
    let mut rig = start(fake.clone(), cfg);
    rig.events.recv().await.unwrap(); // initial inputs
    rig.events.recv().await.unwrap(); // first climate
    tokio::time::advance(Duration::from_millis(1234)).await;
    let opened_at = Instant::now();
    *fake.inputs.lock().unwrap() = Some(OPEN);
    fake.notify.as_ref().unwrap().notify_one();
    let ev = rig.events.recv().await.unwrap();
    assert_eq!(
        ev,
        HardwareEvent::Inputs {
            at: opened_at,
            inputs: OPEN
        }
    );
}

#[tokio::test(start_paused = true)]
async fn with_edges_the_inputs_are_not_polled() {
    let cfg = PollerConfig {
        input_poll_interval: Duration::from_millis(100),
        poll_interval: Duration::from_secs(3600),
        ..PollerConfig::default()
    };
    let fake = with_edges();
    let mut rig = start(fake.clone(), cfg);
    rig.events.recv().await.unwrap();
    rig.events.recv().await.unwrap();
    // A change with no edge is not seen by any timer...
    *fake.inputs.lock().unwrap() = Some(OPEN);
    tokio::time::advance(Duration::from_secs(60)).await;
    tokio::task::yield_now().await;
    assert!(rig.events.try_recv().is_err(), "the inputs were polled");
    // ...the edge reports it.
    let t0 = Instant::now();
    fake.notify.as_ref().unwrap().notify_one();
    let ev = rig.events.recv().await.unwrap();
    assert_eq!(
        ev,
        HardwareEvent::Inputs {
            at: t0,
            inputs: OPEN
        }
    );
}

#[tokio::test(start_paused = true)]
async fn inputs_are_also_polled_without_edges() {
    let cfg = PollerConfig {
        input_poll_interval: Duration::from_millis(100),
        poll_interval: Duration::from_secs(3600),
        ..PollerConfig::default()
    };
    let fake = Recording::default();
    let mut rig = start(fake.clone(), cfg);
    rig.events.recv().await.unwrap();
    rig.events.recv().await.unwrap();
    let t0 = Instant::now();
    tokio::time::advance(Duration::from_millis(30)).await;
    *fake.inputs.lock().unwrap() = Some(OPEN);
    let HardwareEvent::Inputs { at, inputs } = rig.events.recv().await.unwrap() else {
        panic!("expected inputs");
    };
    assert_eq!(inputs, OPEN);
    assert_eq!(
        at.duration_since(t0),
        Duration::from_millis(100),
        "within one poll"
    );
}

#[tokio::test(start_paused = true)]
async fn a_debounced_change_is_reported_after_its_debounce() {
    let cfg = PollerConfig {
        input_poll_interval: Duration::from_secs(5),
        poll_interval: Duration::from_secs(3600),
        debounce: InputDebounce {
            door: Duration::from_millis(50),
            ..InputDebounce::default()
        },
        ..PollerConfig::default()
    };
    let fake = with_edges();
    let mut rig = start(fake.clone(), cfg);
    rig.events.recv().await.unwrap();
    rig.events.recv().await.unwrap();
    let t0 = Instant::now();
    *fake.inputs.lock().unwrap() = Some(OPEN);
    fake.notify.as_ref().unwrap().notify_one();
    let ev = rig.events.recv().await.unwrap();
    assert_eq!(
        ev,
        HardwareEvent::Inputs {
            at: t0 + Duration::from_millis(50),
            inputs: OPEN
        }
    );
}

#[tokio::test(start_paused = true)]
async fn the_poller_stops_and_drives_off_when_nobody_listens() {
    let rig = start(Recording::default(), PollerConfig::default());
    drop(rig.events);
    rig.task.await.unwrap().unwrap();
    let calls = rig.fake.calls();
    assert_eq!(calls[calls.len() - 2..], OFF_CALLS);
    drop(rig.outputs);
}

struct Slow;
impl crate::ClimateSensor for Slow {
    fn read(&mut self) -> Result<ClimateReading, SensorError> {
        Ok(ClimateReading {
            temperature: 19.0,
            humidity: Some(40.0),
        })
    }
}

#[tokio::test]
async fn a_slow_sensor_is_read_off_the_async_thread() {
    let fake = Recording {
        slow: Some(Arc::new(Mutex::new(Slow))),
        ..Recording::default()
    };
    let mut rig = start(fake, PollerConfig::default());
    loop {
        if let HardwareEvent::Climate { reading, .. } = rig.events.recv().await.unwrap() {
            assert_eq!(
                reading.unwrap().temperature,
                19.0,
                "the slow sensor, not read_climate"
            );
            break;
        }
    }
}

/// A slow sensor whose reads are scripted: `Hang` blocks until released, `Panic` panics.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Next {
    Value,
    Hang,
    Panic,
}

struct Scripted {
    next: Arc<Mutex<Next>>,
    release: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl crate::ClimateSensor for Scripted {
    fn read(&mut self) -> Result<ClimateReading, SensorError> {
        let next = *self.next.lock().unwrap();
        match next {
            Next::Value => Ok(READING),
            Next::Panic => {
                *self.next.lock().unwrap() = Next::Value;
                panic!("driver bug");
            }
            Next::Hang => {
                let (lock, cv) = &*self.release;
                let mut released = lock.lock().unwrap();
                while !*released {
                    released = cv.wait(released).unwrap();
                }
                *self.next.lock().unwrap() = Next::Value;
                Ok(READING)
            }
        }
    }
}

async fn next_climate(rig: &mut Rig) -> Result<ClimateReading, SensorError> {
    loop {
        if let HardwareEvent::Climate { reading, .. } = rig.events.recv().await.unwrap() {
            return reading;
        }
    }
}

#[tokio::test]
async fn a_panicking_read_reports_back_and_readings_resume() {
    let next = Arc::new(Mutex::new(Next::Panic));
    let sensor = Scripted {
        next: next.clone(),
        release: Arc::default(),
    };
    let fake = Recording {
        slow: Some(Arc::new(Mutex::new(sensor))),
        ..Recording::default()
    };
    let cfg = PollerConfig {
        poll_interval: Duration::from_millis(20),
        ..PollerConfig::default()
    };
    let mut rig = start(fake, cfg);
    let first = next_climate(&mut rig).await.unwrap_err();
    assert!(first.to_string().contains("panic"), "{first}");
    assert_eq!(
        next_climate(&mut rig).await,
        Ok(READING),
        "the next read runs"
    );
}

#[tokio::test]
async fn a_hung_read_times_out_and_readings_resume_when_it_returns() {
    let next = Arc::new(Mutex::new(Next::Hang));
    let release: Arc<(Mutex<bool>, std::sync::Condvar)> = Arc::default();
    let sensor = Scripted {
        next: next.clone(),
        release: release.clone(),
    };
    let fake = Recording {
        slow: Some(Arc::new(Mutex::new(sensor))),
        ..Recording::default()
    };
    let cfg = PollerConfig {
        poll_interval: Duration::from_millis(20),
        read_timeout: Duration::from_millis(60),
        ..PollerConfig::default()
    };
    let mut rig = start(fake, cfg);
    for _ in 0..3 {
        let e = next_climate(&mut rig).await.unwrap_err();
        assert!(e.to_string().contains("has not returned"), "{e}");
    }
    *release.0.lock().unwrap() = true;
    release.1.notify_all();
    // The hung read's own late value is dropped; a fresh read follows.
    loop {
        if next_climate(&mut rig).await == Ok(READING) {
            break;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn desired_outputs_are_rewritten_every_poll_interval() {
    let mut rig = start(Recording::default(), PollerConfig::default());
    rig.events.recv().await.unwrap();
    let heat = DesiredOutputs {
        hvac: HvacOutputs {
            heat: true,
            ..HvacOutputs::OFF
        },
        motor: MotorDrive::Off,
    };
    rig.outputs.send(heat).unwrap();
    tokio::time::sleep(Duration::from_secs(25)).await;
    let calls = rig.fake.calls();
    let heat_writes = calls
        .iter()
        .filter(|c| **c == Call::Hvac(heat.hvac))
        .count();
    assert_eq!(
        heat_writes, 3,
        "once on change, then at 10 s and 20 s: {calls:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_that_keeps_failing_is_retried_then_ends_the_poller_with_outputs_off() {
    let fake = Recording {
        fail_motor: true,
        ..Recording::default()
    };
    let mut rig = start(fake.clone(), PollerConfig::default());
    rig.events.recv().await.unwrap();
    rig.outputs
        .send(DesiredOutputs {
            hvac: HvacOutputs::OFF,
            motor: MotorDrive::Locking,
        })
        .unwrap();
    let e = rig.task.await.unwrap().unwrap_err();
    assert!(
        matches!(e, HardwareError::OutputWrite { attempts: 3, .. }),
        "{e:?}"
    );
    let calls = fake.calls();
    let tries = calls
        .iter()
        .filter(|c| **c == Call::Motor(MotorDrive::Locking))
        .count();
    assert_eq!(tries, 3);
    assert_eq!(
        calls[calls.len() - 2..],
        OFF_CALLS,
        "driven off on the way out"
    );
}
