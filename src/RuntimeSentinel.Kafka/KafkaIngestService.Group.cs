using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;

namespace RuntimeSentinel.Kafka;

/// <summary>The consumer and its group: rebalance handlers, making alerts safe, committing, leaving.</summary>
public sealed partial class KafkaIngestService
{
    /// <summary>
    /// Every <c>Detection:CheckpointInterval</c>: note how far each partition is processed, checkpoint every changed
    /// workload, and once that is written let commits advance to the noted positions. Events processed before the
    /// round began are in its checkpoints, so a crash never commits past what the restored baselines have seen.
    /// </summary>
    private void StartCheckpointRound(long now)
    {
        if (_state is null || _checkpointInterval <= TimeSpan.Zero || !_checkpointRound.IsCompleted || Stopwatch.GetElapsedTime(_lastRound, now) < _checkpointInterval)
        {
            return;
        }

        _lastRound = now;
        var covered = _trackers.Values.Select(t => (Tracker: t, Next: t.Completed)).Where(x => x.Next >= 0).ToList();
        _checkpointRound = _pipeline.CheckpointAsync(TimeSpan.FromSeconds(30)).ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully && t.Result)
                {
                    foreach (var (tracker, next) in covered)
                    {
                        tracker.AllowUpTo(next);
                    }
                }
                else
                {
                    _metrics.Commits.WithLabels("checkpoint_pending").Inc();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>After a synchronous checkpoint (revoke, stop): everything processed so far may be committed.</summary>
    private static void AllowAll(IEnumerable<PartitionTracker> trackers)
    {
        foreach (var t in trackers)
        {
            t.AllowUpTo(long.MaxValue);
        }
    }

    private void StoreCompleted(IConsumer<Ignore, Ignore> consumer)
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
                    LogStoreFailed(_logger, position.ToString(), ex.Error.Reason);
                }
            }
        }
    }

    private IConsumer<Ignore, Ignore> Build()
    {
        var config = _connection.Configure(new ConsumerConfig
        {
            GroupId = _options.GroupId,
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 1000,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = _options.AutoOffsetReset == "latest" ? AutoOffsetReset.Latest : AutoOffsetReset.Earliest,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            SessionTimeoutMs = _options.SessionTimeoutMs,
            HeartbeatIntervalMs = _options.HeartbeatIntervalMs,
            MaxPollIntervalMs = _options.MaxPollIntervalMs,
            StatisticsIntervalMs = _options.StatisticsIntervalMs,
            FetchQueueBackoffMs = _options.FetchQueueBackoffMs,
            FetchWaitMaxMs = _options.FetchWaitMaxMs ?? (_connection.IsEmbedded ? KafkaOptions.EmbeddedFetchWaitMaxMs : null),
            EnablePartitionEof = false,
        });

        return new ConsumerBuilder<Ignore, Ignore>(config)
            .SetValueDeserializer(_decoder)
            .SetErrorHandler((_, e) =>
            {
                _metrics.KafkaErrors.WithLabels(e.Code.ToString()).Inc();
                LogKafkaError(_logger, e.Code.ToString(), e.Reason);
            })
            .SetStatisticsHandler((_, json) => UpdateLag(json))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                // Their previous owner checkpointed on revoke, just before: read that before their first event.
                if (partitions.Count > 0 && !_leaving)
                {
                    _state?.CatchUp(TimeSpan.FromSeconds(30));
                }

                foreach (var tp in partitions)
                {
                    _trackers[tp] = new PartitionTracker(tp, checkpointed: _state is not null);
                }

                _health.JoinedGroup = true;
                _health.AssignedPartitions += partitions.Count;
                _metrics.Assigned.Set(_health.AssignedPartitions);
                _metrics.Rebalances.WithLabels("assigned").Inc();
                LogAssigned(_logger, partitions.Count, string.Join(",", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]")));
            })
            .SetPartitionsRevokedHandler((c, partitions) =>
            {
                // Checkpoint the workloads whose events we are giving up, so the next owner restores them rather than
                // learning again; then commit what detection finished, so it does not redo that; in-flight events of
                // those partitions will be redone there (at-least-once).
                Flush(CancellationToken.None);
                AwaitAlerts(TimeSpan.FromSeconds(5));
                if (_state is not null)
                {
                    if (_pipeline.CheckpointAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult())
                    {
                        AllowAll(partitions.Select(p => _trackers.GetValueOrDefault(p.TopicPartition)).OfType<PartitionTracker>());
                    }
                    else
                    {
                        // Not committed past the last written checkpoint: the next owner replays into what it restores.
                        LogCheckpointOnRevokeTimedOut(_logger);
                    }
                }

                CommitSafely(c, Release(partitions, "revoked"));
            })
            // A statement lambda on purpose: an expression returning the list would bind Confluent's Func overload,
            // whose return value replaces the assignment, and the consumer would stop getting partitions.
            .SetPartitionsLostHandler((_, partitions) => { Release(partitions, "lost"); })
            .Build();
    }

    /// <summary>
    /// Offsets of events that raised alerts complete only when those alerts are delivered or on disk. Before committing
    /// for good (stop, revoke), have grouped incidents emitted now and wait for that, so the next owner does not raise
    /// them again. Past the timeout their events are simply re-read there (at-least-once: duplicates, never losses).
    /// </summary>
    private void AwaitAlerts(TimeSpan timeout)
    {
        if (_pipeline.EventsAwaitingAlerts == 0 || _alerts is null)
        {
            return;
        }

        var sw = Stopwatch.StartNew();
        _alerts.FlushAsync(timeout).GetAwaiter().GetResult();
        while (_pipeline.EventsAwaitingAlerts > 0 && sw.Elapsed < timeout)
        {
            Thread.Sleep(10);
        }

        if (_pipeline.EventsAwaitingAlerts > 0)
        {
            LogAlertsNotSafe(_logger, _pipeline.EventsAwaitingAlerts, timeout.TotalSeconds);
        }
    }

    /// <summary>Stops tracking partitions this member no longer owns; returns their committable positions.</summary>
    private List<TopicPartitionOffset> Release(List<TopicPartitionOffset> partitions, string type)
    {
        var committable = new List<TopicPartitionOffset>();
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

        _health.AssignedPartitions = Math.Max(0, _health.AssignedPartitions - partitions.Count);
        _metrics.Assigned.Set(_health.AssignedPartitions);
        _metrics.Rebalances.WithLabels(type).Inc();
        LogRevoked(_logger, partitions.Count);
        return committable;
    }

    private void Shutdown(IConsumer<Ignore, Ignore>? consumer)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            // Stop order: no more input; let detection finish what it holds; make its alerts safe; store and commit;
            // leave the group.
            _leaving = true;
            Flush(CancellationToken.None);
            _pipeline.CompleteAsync().GetAwaiter().GetResult();
            AwaitAlerts(TimeSpan.FromSeconds(10));
            if (_state is not null && _pipeline.CheckpointAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult())
            {
                // Again, now that the alerts are safe (the checkpoint then holds their cooldowns too); it covers
                // everything processed, so everything may be committed.
                AllowAll(_trackers.Values);
            }
            if (consumer is null)
            {
                return;
            }

            StoreCompleted(consumer);
            CommitOnLeaving(consumer, _options.CloseTimeout / 2);
            if (!ConsumerClose.CloseWithin(consumer, _options.CloseTimeout))
            {
                LogCloseTimedOut(_logger, _options.CloseTimeout.TotalSeconds);
            }

            consumer = null; // closed and disposed, or left to the process exit
            LogStopped(_logger, EventsIngested, MessagesRejected, sw.ElapsedMilliseconds);
        }
        catch (Exception ex)
        {
            LogShutdownError(_logger, ex);
        }
        finally
        {
            consumer?.Dispose();
        }
    }

    /// <summary>
    /// A member that stops while another member's join or leave is being settled is refused its commit
    /// (rebalance in progress, stale generation). Rather than leave the next owner to redo those events, poll the
    /// group until that rebalance is through and commit again, within the budget.
    /// </summary>
    private void CommitOnLeaving(IConsumer<Ignore, Ignore> consumer, TimeSpan budget)
    {
        var sw = Stopwatch.StartNew();
        while (CommitSafely(consumer, []) is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration && sw.Elapsed < budget)
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

    private ErrorCode CommitSafely(IConsumer<Ignore, Ignore> consumer, List<TopicPartitionOffset> offsets)
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

            _metrics.Commits.WithLabels("ok").Inc();
            return ErrorCode.NoError;
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
            // Nothing new to commit.
            return ErrorCode.NoError;
        }
        catch (KafkaException ex)
        {
            _metrics.Commits.WithLabels("failed").Inc();
            LogCommitFailed(_logger, ex.Error.Reason);
            return ex.Error.Code;
        }
    }

    private void UpdateLag(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("topics", out var topics))
            {
                return;
            }

            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions))
                {
                    continue;
                }

                foreach (var p in partitions.EnumerateObject())
                {
                    // librdkafka reports an internal "-1" partition, and -1 lag before the first fetch; skip both.
                    if (p.Name == "-1" || !p.Value.TryGetProperty("consumer_lag_stored", out var lagEl) || !lagEl.TryGetInt64(out var lag))
                    {
                        continue;
                    }

                    // What detection has still to do: the partition's end minus what it finished. Commits wait for
                    // checkpoints, so the stored position trails by up to a checkpoint interval and is no measure of it.
                    if (int.TryParse(p.Name, System.Globalization.CultureInfo.InvariantCulture, out var partition)
                        && _trackers.TryGetValue(new TopicPartition(topic.Name, partition), out var tracker) && tracker.Completed >= 0
                        && p.Value.TryGetProperty("ls_offset", out var endEl) && endEl.TryGetInt64(out var end) && end >= 0)
                    {
                        lag = Math.Max(0, end - tracker.Completed);
                    }

                    if (lag < 0)
                    {
                        continue;
                    }

                    _metrics.Lag.WithLabels(topic.Name, p.Name).Set(lag);
                }
            }
        }
        catch (JsonException)
        {
            // Statistics are best-effort; a malformed report only delays the lag gauge.
        }
    }
}
