using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The consumer group's side of at-least-once delivery: which partitions this member owns (one
/// <see cref="PartitionTracker"/> each), what assignment, revocation and loss do to them, and moving finished positions
/// into the consumer: stored every round (librdkafka auto-commits them), committed explicitly on revoke and on leaving.
/// Used only on the consume thread: librdkafka runs the rebalance and statistics callbacks inside <c>Consume</c>, so the
/// table needs no lock (the trackers themselves are completed from detection's threads and lock inside).
/// </summary>
/// <param name="logger">The ingest service's logger: these lines keep the category and event ids they had inside it.</param>
internal sealed partial class PartitionAssignments(KafkaMetrics metrics, IngestionHealth health, TimeProvider time, ILogger logger)
{
    private readonly Dictionary<TopicPartition, PartitionTracker> _trackers = new();

    /// <summary>
    /// Whether commits of newly assigned partitions wait for checkpoints (a persistent state store); set before the
    /// consume thread starts.
    /// </summary>
    public bool Checkpointed { get; set; }

    /// <summary>The trackers of the partitions owned now (enumerated without allocating on the consume thread).</summary>
    public Dictionary<TopicPartition, PartitionTracker>.ValueCollection Trackers => _trackers.Values;

    public bool Owns(TopicPartition partition) => _trackers.ContainsKey(partition);

    /// <summary>Where processing of <paramref name="partition"/> has got to (next offset to read); false when not owned or none yet.</summary>
    public bool TryGetCompleted(TopicPartition partition, out long next)
    {
        next = _trackers.TryGetValue(partition, out var t) ? t.Completed : -1;
        return next >= 0;
    }

    /// <summary>The tracker a consumed message's offset is tracked on.</summary>
    public PartitionTracker TrackerFor(TopicPartition partition)
    {
        if (!_trackers.TryGetValue(partition, out var t))
        {
            // A message of a partition whose assignment was not seen (librdkafka delivered before the callback): it is
            // tracked all the same, without a checkpoint barrier, as it always was.
            t = new PartitionTracker(partition);
            _trackers[partition] = t;
        }

        return t;
    }

    /// <summary>Starts tracking newly assigned partitions.</summary>
    public void Assign(List<TopicPartition> partitions)
    {
        foreach (var tp in partitions)
        {
            _trackers[tp] = new PartitionTracker(tp, Checkpointed);
        }

        health.JoinedGroup = true;
        health.AssignedPartitions += partitions.Count;
        metrics.Assigned.Set(health.AssignedPartitions);
        metrics.Rebalances.WithLabels("assigned").Inc();
        LogAssigned(logger, partitions.Count, string.Join(",", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]")));
    }

    /// <summary>
    /// Stops tracking partitions this member no longer owns (<paramref name="type"/>: revoked or lost); returns their
    /// committable positions. Late completions of their events are ignored from now on: the next owner reads them again.
    /// </summary>
    public List<TopicPartitionOffset> Release(List<TopicPartitionOffset> partitions, string type)
    {
        var committable = new List<TopicPartitionOffset>(partitions.Count);
        foreach (var tpo in partitions)
        {
            if (_trackers.Remove(tpo.TopicPartition, out var t))
            {
                t.Revoked = true;
                if (t.TryTakeCommittable(out var position))
                {
                    committable.Add(position);
                }
            }
        }

        health.AssignedPartitions = Math.Max(0, health.AssignedPartitions - partitions.Count);
        metrics.Assigned.Set(health.AssignedPartitions);
        metrics.Rebalances.WithLabels(type).Inc();
        LogRevoked(logger, partitions.Count);
        return committable;
    }

    /// <summary>After a synchronous checkpoint (revoke, stop): everything processed so far on every owned partition may be committed.</summary>
    public void AllowAll()
    {
        foreach (var t in _trackers.Values)
        {
            t.AllowUpTo(long.MaxValue);
        }
    }

    /// <summary>After a synchronous checkpoint before a revoke: everything processed on <paramref name="partitions"/> may be committed.</summary>
    public void AllowAll(List<TopicPartitionOffset> partitions)
    {
        foreach (var tpo in partitions)
        {
            if (_trackers.TryGetValue(tpo.TopicPartition, out var t))
            {
                t.AllowUpTo(long.MaxValue);
            }
        }
    }

    /// <summary>Stores every owned partition's position that moved; librdkafka's auto-commit sends them within a second.</summary>
    public void StoreCompleted(IConsumer<Ignore, Ignore> consumer)
    {
        foreach (var t in _trackers.Values)
        {
            if (!t.Revoked && t.TryTakeCommittable(out var position))
            {
                try
                {
                    consumer.StoreOffset(position);
                }
                catch (KafkaException ex)
                {
                    // The partition was revoked between completion and store; its new owner re-reads from the last commit.
                    LogStoreFailed(logger, position.ToString(), ex.Error.Reason);
                }
            }
        }
    }

    /// <summary>Commits <paramref name="offsets"/>, or everything stored when empty; returns the error, never throws a Kafka error.</summary>
    public ErrorCode Commit(IConsumer<Ignore, Ignore> consumer, List<TopicPartitionOffset> offsets)
    {
        try
        {
            if (offsets.Count > 0)
            {
                consumer.Commit(offsets);
            }
            else
            {
                consumer.Commit(); // everything stored so far
            }

            metrics.Commits.WithLabels("ok").Inc();
            return ErrorCode.NoError;
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
            // Nothing new to commit.
            return ErrorCode.NoError;
        }
        catch (KafkaException ex)
        {
            metrics.Commits.WithLabels("failed").Inc();
            LogCommitFailed(logger, ex.Error.Reason);
            return ex.Error.Code;
        }
    }

    /// <summary>
    /// A member that stops while another member's join or leave is being settled is refused its commit
    /// (rebalance in progress, stale generation). Rather than leave the next owner to redo those events, poll the
    /// group until that rebalance is through and commit again, within <paramref name="budget"/>.
    /// </summary>
    public void CommitOnLeaving(IConsumer<Ignore, Ignore> consumer, TimeSpan budget)
    {
        var start = time.GetTimestamp();
        while (Commit(consumer, []) is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration && time.GetElapsedTime(start) < budget)
        {
            try
            {
                // Polled only to drive the group protocol: a message returned now is not processed, and its offset is
                // never stored, so whoever owns its partition next reads it.
                consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException)
            {
            }

            StoreCompleted(consumer);
        }
    }
}
