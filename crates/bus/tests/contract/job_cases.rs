//! The contract cases of the fan-out job queue and the events exchange; each takes the
//! transport to run on.

use crate::{Harness, Impl};
use prost::Message as _;
use scim_bus::{EventReceiver, Headers, JobConsumer, JobDelivery};
use scim_wire::pb;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Barrier, mpsc};

const WAIT: Duration = Duration::from_secs(5);

/// A job with a recognisable outbox id.
fn fanout_job(outbox_id: i64) -> pb::FanoutJob {
    pb::FanoutJob {
        outbox_id,
        tenant_id: "tenant-1".to_owned(),
        user_ids: vec![format!("user-{outbox_id}-a"), format!("user-{outbox_id}-b")],
    }
}

async fn publish(h: &Harness, outbox_id: i64) -> pb::FanoutJob {
    let job = fanout_job(outbox_id);
    h.publisher
        .publish_job(job.encode_to_vec(), Headers::new())
        .await
        .expect("the job is confirmed");
    job
}

fn decode(delivery: &JobDelivery) -> pb::FanoutJob {
    pb::FanoutJob::decode(delivery.body.as_slice()).expect("a FanoutJob body")
}

async fn next_job_within(consumer: &mut dyn JobConsumer, wait: Duration) -> JobDelivery {
    tokio::time::timeout(wait, consumer.next())
        .await
        .unwrap_or_else(|_| panic!("no job within {wait:?}"))
        .expect("next() failed")
        .expect("the consumer ended")
}

async fn assert_no_job(consumer: &mut dyn JobConsumer, wait: Duration) {
    if let Ok(next) = tokio::time::timeout(wait, consumer.next()).await {
        let delivery = next.expect("next() failed");
        panic!("expected no job, got {delivery:?}");
    }
}

async fn next_event_within(events: &mut EventReceiver, wait: Duration) -> (String, Vec<u8>) {
    tokio::time::timeout(wait, events.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within {wait:?}"))
        .expect("the subscription ended")
}

async fn assert_no_event(events: &mut EventReceiver, wait: Duration) {
    if let Ok(event) = tokio::time::timeout(wait, events.recv()).await {
        panic!("expected no event, got {event:?}");
    }
}

pub async fn job_round_trip_carries_body_and_headers(which: Impl) {
    let h = Harness::start(which).await;
    let job = fanout_job(1);
    let headers = Headers::from([
        (
            "traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        ),
        ("tenant".to_owned(), "tenant-1".to_owned()),
    ]);
    h.publisher
        .publish_job(job.encode_to_vec(), headers.clone())
        .await
        .expect("the job is confirmed");
    // Confirmed means queued: it waits there before any consumer exists.
    assert_eq!(h.job_depth().await, 1);
    assert_eq!(h.depth().await, 0, "jobs do not go to the command queue");

    let mut consumer = h.job_consumer(1).await;
    let delivery = next_job_within(&mut *consumer, WAIT).await;
    assert_eq!(decode(&delivery), job);
    assert_eq!(delivery.headers, headers);
    assert_eq!(delivery.delivery_count, 0);
    delivery.ack().await.expect("ack");

    assert_no_job(&mut *consumer, Duration::from_millis(300)).await;
    assert_eq!(h.job_depth().await, 0);
    assert_eq!(h.fanout_dead_letter_count().await, 0);
    h.finish().await;
}

pub async fn dropped_job_is_redelivered_with_higher_count(which: Impl) {
    let h = Harness::start(which).await;
    let mut consumer = h.job_consumer(1).await;
    let job = publish(&h, 1).await;

    let first = next_job_within(&mut *consumer, WAIT).await;
    assert_eq!(first.delivery_count, 0);
    // The worker died mid-job.
    drop(first);

    let again = next_job_within(&mut *consumer, WAIT).await;
    assert_eq!(decode(&again), job);
    assert_eq!(again.delivery_count, 1);
    again.requeue().await.expect("requeue");

    let last = next_job_within(&mut *consumer, WAIT).await;
    assert_eq!(decode(&last), job);
    assert_eq!(last.delivery_count, 2);
    last.ack().await.expect("ack");
    assert_no_job(&mut *consumer, Duration::from_millis(300)).await;
    assert_eq!(h.fanout_dead_letter_count().await, 0);
    h.finish().await;
}

pub async fn jobs_are_dead_lettered_explicitly_and_past_the_limit(which: Impl) {
    let h = Harness::with_delivery_limit(which, 2).await;
    let mut consumer = h.job_consumer(1).await;
    let poison = publish(&h, 1).await;
    let failing = publish(&h, 2).await;

    let delivery = next_job_within(&mut *consumer, WAIT).await;
    assert_eq!(decode(&delivery), poison);
    delivery.dead_letter().await.expect("dead_letter");
    assert_eq!(h.wait_fanout_dead_letters(1).await, 1);

    // Limit 2: delivered with counts 0, 1 and 2; the third return exceeds it.
    for expected in 0..=2 {
        let delivery = next_job_within(&mut *consumer, WAIT).await;
        assert_eq!(decode(&delivery), failing);
        assert_eq!(delivery.delivery_count, expected);
        delivery.requeue().await.expect("requeue");
    }
    assert_eq!(h.wait_fanout_dead_letters(2).await, 2);
    assert_no_job(&mut *consumer, Duration::from_millis(300)).await;
    assert_eq!(h.job_depth().await, 0);
    assert_eq!(
        h.dead_letter_count().await,
        0,
        "not the command dead letters"
    );
    let dead: Vec<_> = h
        .take_fanout_dead_letters()
        .await
        .iter()
        .map(|body| pb::FanoutJob::decode(body.as_slice()).unwrap())
        .collect();
    assert_eq!(dead, vec![poison, failing]);
    h.finish().await;
}

pub async fn job_consumers_share_the_queue(which: Impl) {
    const N: i64 = 10;
    let h = Harness::start(which).await;
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for name in ["a", "b"] {
        let mut consumer = h.job_consumer(1).await;
        let seen_tx = seen_tx.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let delivery = consumer.next().await.expect("next").expect("delivery");
                let outbox_id = decode(&delivery).outbox_id;
                // Hold the only prefetch slot a while, so the other consumer has to take
                // the next job.
                tokio::time::sleep(Duration::from_millis(30)).await;
                delivery.ack().await.expect("ack");
                seen_tx.send((name, outbox_id)).unwrap();
            }
        }));
    }
    for outbox_id in 0..N {
        publish(&h, outbox_id).await;
    }
    let mut by_consumer = BTreeSet::new();
    let mut ids = Vec::new();
    for _ in 0..N {
        let (name, id) = tokio::time::timeout(WAIT, seen.recv())
            .await
            .expect("every job is handled")
            .unwrap();
        by_consumer.insert(name);
        ids.push(id);
    }
    // Anything delivered twice would show up here by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for worker in &workers {
        worker.abort();
    }
    while let Ok((name, id)) = seen.try_recv() {
        by_consumer.insert(name);
        ids.push(id);
    }
    ids.sort_unstable();
    assert_eq!(
        ids,
        (0..N).collect::<Vec<_>>(),
        "every job delivered exactly once"
    );
    assert_eq!(
        by_consumer,
        BTreeSet::from(["a", "b"]),
        "both consumers got work"
    );
    h.finish().await;
}

pub async fn job_prefetch_bounds_unsettled_deliveries(which: Impl) {
    let h = Harness::start(which).await;
    let mut consumer = h.job_consumer(2).await;
    for outbox_id in 0..3 {
        publish(&h, outbox_id).await;
    }
    let first = next_job_within(&mut *consumer, WAIT).await;
    let second = next_job_within(&mut *consumer, WAIT).await;
    assert_no_job(&mut *consumer, Duration::from_millis(300)).await;
    assert_eq!(h.job_depth().await, 1, "the third job waits in the queue");

    first.ack().await.expect("ack");
    let third = next_job_within(&mut *consumer, WAIT).await;
    assert_eq!(third.delivery_count, 0);
    let mut ids = vec![decode(&second).outbox_id, decode(&third).outbox_id];
    second.ack().await.expect("ack");
    third.ack().await.expect("ack");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2, "three distinct jobs");
    assert_eq!(h.job_depth().await, 0);
    h.finish().await;
}

pub async fn concurrent_job_publishes_are_all_confirmed(which: Impl) {
    const N: usize = 20;
    let h = Harness::start(which).await;
    // All tasks publish at once on the one shared publisher, which is what races confirms.
    let start = Arc::new(Barrier::new(N));
    let publishes: Vec<_> = (0..N)
        .map(|n| {
            let publisher = Arc::clone(&h.publisher);
            let start = Arc::clone(&start);
            let body = fanout_job(i64::try_from(n).unwrap()).encode_to_vec();
            tokio::spawn(async move {
                start.wait().await;
                publisher.publish_job(body, Headers::new()).await
            })
        })
        .collect();
    for publish in publishes {
        publish.await.unwrap().expect("every publish is confirmed");
    }
    assert_eq!(h.job_depth().await, u32::try_from(N).unwrap());

    let mut consumer = h.job_consumer(0).await;
    let mut ids = Vec::new();
    for _ in 0..N {
        let delivery = next_job_within(&mut *consumer, WAIT).await;
        ids.push(decode(&delivery).outbox_id);
        delivery.ack().await.expect("ack");
    }
    ids.sort_unstable();
    let expected: Vec<i64> = (0..N).map(|n| i64::try_from(n).unwrap()).collect();
    assert_eq!(ids, expected, "each job queued once");
    assert_no_job(&mut *consumer, Duration::from_millis(200)).await;
    h.finish().await;
}

pub async fn events_reach_only_matching_subscribers(which: Impl) {
    let h = Harness::start(which).await;
    let tenant = uuid::Uuid::new_v4().to_string();
    let other_tenant = uuid::Uuid::new_v4().to_string();
    let key = format!("membership.changed.{tenant}");
    let other_key = format!("membership.changed.{other_tenant}");
    // Nobody is bound yet: still confirmed, and dropped.
    h.publisher
        .publish_event(&key, b"before anyone listened".to_vec(), Headers::new())
        .await
        .expect("an event nobody is bound for is confirmed");

    let mut every_tenant = h.subscribe_events("membership.changed.*").await;
    let mut other_only = h.subscribe_events(&other_key).await;
    let event = pb::MembershipChanged {
        tenant_id: tenant.clone(),
        user_id: "user-1".to_owned(),
        set_version: 3,
        ..pb::MembershipChanged::default()
    };
    let headers = Headers::from([("tenant".to_owned(), tenant.clone())]);
    h.publisher
        .publish_event(&key, event.encode_to_vec(), headers)
        .await
        .expect("the event is confirmed");

    // The first thing the wildcard subscriber gets, so the early event was not kept.
    let (routing_key, body) = next_event_within(&mut every_tenant, WAIT).await;
    assert_eq!(routing_key, key);
    assert_eq!(
        pb::MembershipChanged::decode(body.as_slice()).unwrap(),
        event
    );
    assert_no_event(&mut other_only, Duration::from_millis(300)).await;

    // `*` is one word: a longer key does not match it.
    let longer = format!("{key}.extra");
    h.publisher
        .publish_event(&longer, b"longer".to_vec(), Headers::new())
        .await
        .expect("confirmed");
    // The other tenant's event reaches both (so the negative above is meaningful), and
    // arrives after the longer key's event would have.
    h.publisher
        .publish_event(&other_key, b"other".to_vec(), Headers::new())
        .await
        .expect("confirmed");
    let got = next_event_within(&mut other_only, WAIT).await;
    assert_eq!(got, (other_key.clone(), b"other".to_vec()));
    let got = next_event_within(&mut every_tenant, WAIT).await;
    assert_eq!(got, (other_key, b"other".to_vec()));
    assert_no_event(&mut every_tenant, Duration::from_millis(200)).await;
    assert_eq!(h.job_depth().await, 0, "events do not go to the job queue");
    h.finish().await;
}
