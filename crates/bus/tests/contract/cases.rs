//! The contract cases; each takes the transport to run on.

use crate::{Harness, Impl, command, result_for};
use scim_bus::{BusError, CommandConsumer, CommandDelivery, Headers};
use scim_wire::pb;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(5);

fn spawn_request(
    h: &Harness,
    command: pb::ChangeCommand,
    headers: Headers,
    timeout: Duration,
) -> JoinHandle<Result<pb::CommandResult, BusError>> {
    let client = Arc::clone(&h.client);
    tokio::spawn(async move { client.request(&command, headers, timeout).await })
}

async fn next_within(consumer: &mut dyn CommandConsumer, wait: Duration) -> CommandDelivery {
    tokio::time::timeout(wait, consumer.next())
        .await
        .unwrap_or_else(|_| panic!("no delivery within {wait:?}"))
        .expect("next() failed")
        .expect("the consumer ended")
}

async fn assert_no_delivery(consumer: &mut dyn CommandConsumer, wait: Duration) {
    if let Ok(next) = tokio::time::timeout(wait, consumer.next()).await {
        let delivery = next.expect("next() failed");
        panic!("expected no delivery, got {delivery:?}");
    }
}

async fn reply_and_ack(delivery: CommandDelivery) {
    let command = delivery
        .command
        .as_ref()
        .expect("decodable command")
        .clone();
    delivery.reply(&result_for(&command)).await.expect("reply");
    delivery.ack().await.expect("ack");
}

pub async fn round_trip_carries_headers_and_deadline(which: Impl) {
    let h = Harness::start(which).await;
    h.client.ready().await.expect("ready");
    let mut consumer = h.consumer(1).await;
    let cmd = command(1);
    let headers = Headers::from([
        (
            "traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        ),
        ("x-tenant-id".to_owned(), "tenant-1".to_owned()),
    ]);
    let timeout = Duration::from_secs(20);
    let before = SystemTime::now();
    let request = spawn_request(&h, cmd.clone(), headers.clone(), timeout);

    let delivery = next_within(&mut *consumer, WAIT).await;
    let after = SystemTime::now();
    assert_eq!(delivery.command.as_ref().unwrap(), &cmd);
    assert_eq!(delivery.headers, headers);
    assert_eq!(delivery.delivery_count, 0);
    let deadline = delivery.deadline.expect("a deadline");
    // The broker carries it in whole milliseconds.
    assert!(
        deadline + Duration::from_millis(1) >= before + timeout && deadline <= after + timeout,
        "deadline {deadline:?} not within [{before:?}, {after:?}] + {timeout:?}"
    );
    assert!(!delivery.expired());

    let result = result_for(&cmd);
    delivery.reply(&result).await.expect("reply");
    delivery.ack().await.expect("ack");
    let got = request.await.unwrap().expect("the reply");
    assert_eq!(got, result);
    assert_eq!(h.depth().await, 0);
    assert_eq!(h.dead_letter_count().await, 0);
    h.finish().await;
}

pub async fn concurrent_requests_get_their_own_replies(which: Impl) {
    const N: usize = 20;
    let h = Harness::start(which).await;
    let mut consumer = h.consumer(8).await;
    let worker = tokio::spawn(async move {
        for _ in 0..N {
            let delivery = next_within(&mut *consumer, WAIT).await;
            // Answer out of order: later commands are answered sooner.
            let n: u64 = match &delivery.command.as_ref().unwrap().change {
                Some(pb::change_command::Change::Delete(d)) => {
                    d.id.trim_start_matches("user-").parse().unwrap()
                }
                other => panic!("unexpected change {other:?}"),
            };
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(2 * (N as u64 - n))).await;
                reply_and_ack(delivery).await;
            });
        }
        consumer
    });
    let commands: Vec<_> = (0..N).map(command).collect();
    let requests: Vec<_> = commands
        .iter()
        .map(|c| spawn_request(&h, c.clone(), Headers::new(), Duration::from_secs(20)))
        .collect();
    for (cmd, request) in commands.iter().zip(requests) {
        let result = request.await.unwrap().expect("a reply");
        assert_eq!(result, result_for(cmd));
    }
    let _consumer = worker.await.unwrap();
    assert_eq!(h.depth().await, 0);
    h.finish().await;
}

pub async fn consumers_share_the_queue(which: Impl) {
    const N: usize = 10;
    let h = Harness::start(which).await;
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for name in ["a", "b"] {
        let mut consumer = h.consumer(1).await;
        let seen_tx = seen_tx.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let delivery = consumer.next().await.expect("next").expect("delivery");
                let id = delivery.command.as_ref().unwrap().command_id.clone();
                // Hold the only prefetch slot a while, so the other consumer has to take
                // the next command.
                tokio::time::sleep(Duration::from_millis(30)).await;
                reply_and_ack(delivery).await;
                seen_tx.send((name, id)).unwrap();
            }
        }));
    }
    let commands: Vec<_> = (0..N).map(command).collect();
    let requests: Vec<_> = commands
        .iter()
        .map(|c| spawn_request(&h, c.clone(), Headers::new(), Duration::from_secs(20)))
        .collect();
    for (cmd, request) in commands.iter().zip(requests) {
        assert_eq!(request.await.unwrap().expect("a reply"), result_for(cmd));
    }
    // Anything delivered twice would show up here by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for worker in &workers {
        worker.abort();
    }
    let mut by_consumer = BTreeSet::new();
    let mut ids = Vec::new();
    while let Ok((name, id)) = seen.try_recv() {
        by_consumer.insert(name);
        ids.push(id);
    }
    ids.sort();
    let mut expected: Vec<_> = commands.iter().map(|c| c.command_id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected, "every command delivered exactly once");
    assert_eq!(
        by_consumer,
        BTreeSet::from(["a", "b"]),
        "both consumers got work"
    );
    h.finish().await;
}

pub async fn dropped_delivery_is_redelivered(which: Impl) {
    let h = Harness::start(which).await;
    let mut consumer = h.consumer(1).await;
    let cmd = command(1);
    let request = spawn_request(&h, cmd.clone(), Headers::new(), Duration::from_secs(20));

    let first = next_within(&mut *consumer, WAIT).await;
    assert_eq!(first.delivery_count, 0);
    drop(first);

    let again = next_within(&mut *consumer, WAIT).await;
    assert_eq!(again.command.as_ref().unwrap(), &cmd);
    assert_eq!(again.delivery_count, 1);
    reply_and_ack(again).await;
    // The reply of the redelivery still reaches the original request.
    assert_eq!(request.await.unwrap().expect("a reply"), result_for(&cmd));
    h.finish().await;
}

pub async fn requeue_redelivers_with_higher_count(which: Impl) {
    let h = Harness::start(which).await;
    let mut consumer = h.consumer(1).await;
    let cmd = command(1);
    let request = spawn_request(&h, cmd.clone(), Headers::new(), Duration::from_secs(20));

    for expected in 0..2 {
        let delivery = next_within(&mut *consumer, WAIT).await;
        assert_eq!(delivery.command.as_ref().unwrap(), &cmd);
        assert_eq!(delivery.delivery_count, expected);
        delivery.requeue().await.expect("requeue");
    }
    let last = next_within(&mut *consumer, WAIT).await;
    assert_eq!(last.delivery_count, 2);
    reply_and_ack(last).await;
    assert_eq!(request.await.unwrap().expect("a reply"), result_for(&cmd));
    assert_eq!(h.dead_letter_count().await, 0);
    h.finish().await;
}

pub async fn dead_letter_moves_to_dead_letter_queue(which: Impl) {
    let h = Harness::start(which).await;
    let mut consumer = h.consumer(1).await;
    let cmd = command(1);
    let timeout = Duration::from_millis(800);
    let request = spawn_request(&h, cmd.clone(), Headers::new(), timeout);

    let delivery = next_within(&mut *consumer, WAIT).await;
    delivery.dead_letter().await.expect("dead_letter");
    assert_eq!(h.wait_dead_letters(1).await, 1);
    assert_eq!(h.depth().await, 0);
    assert_no_delivery(&mut *consumer, Duration::from_millis(200)).await;
    // Nobody replied: the requester gets its timeout.
    assert!(matches!(request.await.unwrap(), Err(BusError::Timeout(t)) if t == timeout));
    assert_eq!(h.take_dead_letters().await, vec![cmd]);
    h.finish().await;
}

pub async fn delivery_limit_dead_letters(which: Impl) {
    let h = Harness::with_delivery_limit(which, 2).await;
    let mut consumer = h.consumer(1).await;
    let cmd = command(1);
    let request = spawn_request(&h, cmd.clone(), Headers::new(), Duration::from_secs(2));

    // Limit 2: delivered with counts 0, 1 and 2; the third return exceeds it.
    for expected in 0..=2 {
        let delivery = next_within(&mut *consumer, WAIT).await;
        assert_eq!(delivery.delivery_count, expected);
        delivery.requeue().await.expect("requeue");
    }
    assert_eq!(h.wait_dead_letters(1).await, 1);
    assert_no_delivery(&mut *consumer, Duration::from_millis(300)).await;
    assert_eq!(h.take_dead_letters().await, vec![cmd]);
    assert!(matches!(request.await.unwrap(), Err(BusError::Timeout(_))));
    h.finish().await;
}

pub async fn request_without_consumer_times_out(which: Impl) {
    let h = Harness::start(which).await;
    let cmd = command(1);
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let outcome = h.client.request(&cmd, Headers::new(), timeout).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome, Err(BusError::Timeout(t)) if t == timeout),
        "expected a timeout, got {outcome:?}"
    );
    assert!(
        elapsed >= timeout - Duration::from_millis(5) && elapsed < timeout + Duration::from_secs(2),
        "timed out after {elapsed:?}"
    );
    // The command stays queued, and a worker that gets it later sees it expired.
    assert_eq!(h.depth().await, 1);
    let mut consumer = h.consumer(1).await;
    let late = next_within(&mut *consumer, WAIT).await;
    assert_eq!(late.command.as_ref().unwrap(), &cmd);
    assert!(late.expired());
    // Replying to a requester that gave up is harmless: the reply goes nowhere and the
    // consumer keeps working.
    reply_and_ack(late).await;
    assert_eq!(h.depth().await, 0);
    let next = command(2);
    let request = spawn_request(&h, next.clone(), Headers::new(), Duration::from_secs(20));
    reply_and_ack(next_within(&mut *consumer, WAIT).await).await;
    assert_eq!(request.await.unwrap().expect("a reply"), result_for(&next));
    h.finish().await;
}

pub async fn prefetch_bounds_unsettled_deliveries(which: Impl) {
    let h = Harness::start(which).await;
    let mut consumer = h.consumer(2).await;
    let commands: Vec<_> = (0..3).map(command).collect();
    let requests: Vec<_> = commands
        .iter()
        .map(|c| spawn_request(&h, c.clone(), Headers::new(), Duration::from_secs(20)))
        .collect();

    let first = next_within(&mut *consumer, WAIT).await;
    let second = next_within(&mut *consumer, WAIT).await;
    assert_no_delivery(&mut *consumer, Duration::from_millis(300)).await;
    assert_eq!(h.depth().await, 1, "the third command waits in the queue");

    reply_and_ack(first).await;
    let third = next_within(&mut *consumer, WAIT).await;
    assert_eq!(third.delivery_count, 0);
    let mut ids: Vec<_> = [&second, &third]
        .iter()
        .map(|d| d.command.as_ref().unwrap().command_id.clone())
        .collect();
    reply_and_ack(second).await;
    reply_and_ack(third).await;
    for (cmd, request) in commands.iter().zip(requests) {
        assert_eq!(request.await.unwrap().expect("a reply"), result_for(cmd));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "three distinct commands");
    h.finish().await;
}

pub async fn undecodable_message_arrives_as_error(which: Impl) {
    let h = Harness::start(which).await;
    // A truncated varint: no protobuf decoder accepts it.
    h.publish_raw(&[0xff, 0xff, 0xff, 0xff]).await;
    let mut consumer = h.consumer(1).await;
    let delivery = next_within(&mut *consumer, WAIT).await;
    assert!(
        delivery.command.is_err(),
        "decoded garbage: {:?}",
        delivery.command
    );
    assert_eq!(delivery.delivery_count, 0);
    assert_eq!(delivery.deadline, None);
    assert!(!delivery.expired());
    delivery.dead_letter().await.expect("dead_letter");
    assert_eq!(h.wait_dead_letters(1).await, 1);
    assert_eq!(h.take_dead_letters().await, vec![]);
    h.finish().await;
}

pub async fn close_ends_consumers_and_requests(which: Impl) {
    let h = Harness::start(which).await;
    let mut consumer = h.consumer(1).await;
    let waiting = tokio::spawn(async move { consumer.next().await.map(|d| d.is_none()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    h.close().await;
    let ended = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("next() returned after close")
        .unwrap();
    assert!(matches!(ended, Ok(true)), "next() after close: {ended:?}");
    let outcome = h
        .client
        .request(&command(1), Headers::new(), Duration::from_secs(1))
        .await;
    assert!(matches!(outcome, Err(BusError::Closed)), "{outcome:?}");
    assert!(matches!(h.client.ready().await, Err(BusError::Closed)));
    h.finish().await;
}
