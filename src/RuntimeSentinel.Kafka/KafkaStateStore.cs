using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Workload checkpoints in a compacted topic keyed by workload, the way Kafka Streams keeps state stores in changelog
/// topics. Every instance reads the whole topic into a table (the newest checkpoint per workload, by the time in its
/// header) before ingestion starts, and keeps tailing it, so a workload whose partition moves here in a rebalance finds
/// what its previous owner checkpointed on revoke. Records are input like any other: unreadable ones are ignored and
/// counted, and the table is bounded by <c>Kafka:StateTableMaxMiB</c>.
/// </summary>
internal sealed partial class KafkaStateStore : IWorkloadStateStore, IDisposable
{
    private readonly TimeProvider _time;
    private readonly KafkaOptions _options;
    private readonly KafkaConnection _connection;
    private readonly ILogger<KafkaStateStore> _logger;
    private readonly Core.Health.StageHealth _stage;
    private readonly ConcurrentDictionary<string, byte[]> _table = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Counter _records;
    private readonly Counter _writes;
    private readonly Gauge _workloads;
    private readonly Gauge _bytes;
    private readonly Gauge _restoreSeconds;
    private IProducer<string, byte[]>? _producer;
    private Thread? _reader;
    private long _tableBytes;
    private IConsumer<byte[]?, byte[]?>? _tail;
    private readonly ConcurrentDictionary<int, long> _next = new();
    private int _disposed;

    private readonly IMemoryBudget? _memory;

    /// <summary>The copy on local disk, when <c>Kafka:StateDirectory</c> is set.</summary>
    private readonly LocalCheckpointCopy? _local;

    /// <param name="nodeMemory">The node's memory budget: the table's checkpoints reserve from it (besides <c>Kafka:StateTableMaxMiB</c>).</param>
    public KafkaStateStore(IOptions<KafkaOptions> options, KafkaConnection connection, IMetricFactory metrics, Core.Health.HealthRegistry health, ILogger<KafkaStateStore> logger, IMemoryBudget? nodeMemory = null, TimeProvider? time = null)
    {
        _memory = nodeMemory;
        _time = time ?? TimeProvider.System;
        _options = options.Value;
        _connection = connection;
        _logger = logger;
        _stage = health.Register("state-table");
        _records = metrics.CreateCounter("sentinel_state_records_total", "Checkpoints read, by result (loaded: from the topic, local: from the local copy, stale: older than the table's, deleted: tombstones, ignored: not a checkpoint, table_full).", ["result"]);
        _writes = metrics.CreateCounter("sentinel_state_writes_total", "Checkpoints written, by result (ok, failed: to the topic; local, local_full, local_failed: to the local copy).", ["result"]);
        _workloads = metrics.CreateGauge("sentinel_state_table_workloads", "Workloads with a checkpoint in this instance's state table.");
        _bytes = metrics.CreateGauge("sentinel_state_table_bytes", "Bytes of checkpoints held in this instance's state table.");
        _restoreSeconds = metrics.CreateGauge("sentinel_state_restore_seconds", "Time the state table took to read the state topic to its end at start-up.");
        foreach (var r in new[] { "loaded", "local", "stale", "deleted", "ignored", "table_full" })
        {
            _records.WithLabels(r);
        }

        foreach (var r in new[] { "ok", "failed", "local", "local_full", "local_failed" })
        {
            _writes.WithLabels(r);
        }

        if (!string.IsNullOrEmpty(_options.StateDirectory))
        {
            _local = new LocalCheckpointCopy(_options, _records, _writes, _time, logger);
        }
    }

    /// <summary>
    /// Whether checkpoints outlive the process: not with the embedded cluster (it dies with the process) unless a local
    /// copy is configured. Otherwise the table only serves workloads evicted and seen again here.
    /// </summary>
    public bool Persistent => !_connection.IsEmbedded || _local is not null;

    /// <summary>Workloads in the table.</summary>
    public int Count => _table.Count;

    /// <summary>
    /// Starts tailing the state topic and waits until it was read to its end (or <c>Kafka:StateRestoreTimeout</c>), so
    /// that no event is processed before its workload's checkpoint is known. Called before ingestion subscribes.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Persistent)
        {
            LogNotPersistent(_logger);
            _caughtUp.TrySetResult();
            return;
        }

        var sw = Stopwatch.StartNew();
        // The local copy first: the topic's records then replace only what is newer there.
        _local?.Load(Put);

        _reader = new Thread(Run) { IsBackground = true, Name = "sentinel-state" };
        _reader.Start();
        var finished = await Task.WhenAny(_caughtUp.Task, Task.Delay(_options.StateRestoreTimeout, _time, cancellationToken)).ConfigureAwait(false);
        _restoreSeconds.Set(sw.Elapsed.TotalSeconds);
        if (finished == _caughtUp.Task)
        {
            LogRestored(_logger, _table.Count, Interlocked.Read(ref _tableBytes), sw.ElapsedMilliseconds);
        }
        else
        {
            // Go on: a workload without its checkpoint learns again, which is better than not watching at all.
            LogRestoreTimedOut(_logger, _options.StateRestoreTimeout.TotalSeconds, _table.Count);
        }
    }

    /// <summary>
    /// Waits until the table holds everything written to the state topic so far: called when partitions are assigned,
    /// because their previous owner checkpointed on revoke just before, and the first event of a workload that moved
    /// must find that checkpoint. False when <paramref name="timeout"/> passed first (those workloads learn again).
    /// </summary>
    public bool CatchUp(TimeSpan timeout)
    {
        if (_tail is not { } tail)
        {
            return false;
        }

        var sw = Stopwatch.StartNew();
        try
        {
            var ends = new Dictionary<int, long>();
            foreach (var p in _next.Keys)
            {
                ends[p] = tail.QueryWatermarkOffsets(new TopicPartition(_options.StateTopic!, p), timeout).High.Value;
            }

            while (ends.Any(e => _next.GetValueOrDefault(e.Key) < e.Value))
            {
                if (sw.Elapsed > timeout || _stop.IsCancellationRequested)
                {
                    LogCatchUpTimedOut(_logger, timeout.TotalSeconds);
                    return false;
                }

                Thread.Sleep(5);
            }

            return true;
        }
        catch (KafkaException ex)
        {
            LogReaderError(_logger, ex.Error.Code.ToString(), ex.Error.Reason);
            return false;
        }
    }

    // The table is keyed by the key's value: records on the topic are keyed by it, and so are local files.
    public byte[]? Find(WorkloadKey workload) => _table.TryGetValue(workload.Value, out var b) ? b : null;

    public void Save(WorkloadKey workload, byte[] checkpoint)
    {
        // In the table at once: a workload evicted and seen again here finds it before the topic echoes it back.
        Put(workload.Value, checkpoint);
        _local?.Save(workload.Value, checkpoint);

        Produce(workload.Value, checkpoint);
    }

    private void Produce(string workload, byte[] checkpoint)
    {
        if (!Persistent)
        {
            return;
        }

        try
        {
            Producer().Produce(_options.StateTopic!, new Message<string, byte[]> { Key = workload, Value = checkpoint }, r =>
            {
                var ok = r.Error.Code == ErrorCode.NoError;
                _writes.WithLabels(ok ? "ok" : "failed").Inc();
                if (!ok)
                {
                    LogWriteFailed(_logger, workload, r.Error.Reason);
                }
            });
        }
        catch (ProduceException<string, byte[]> ex)
        {
            _writes.WithLabels("failed").Inc();
            LogWriteFailed(_logger, workload, ex.Error.Reason);
        }
    }

    public bool Flush(TimeSpan timeout)
    {
        var local = _local is not { } copy || copy.Flush(timeout);
        return (_producer is not { } p || p.Flush(timeout) == 0) && local;
    }

    public void Dispose()
    {
        // Registered under two service types, so the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        _reader?.Join(TimeSpan.FromSeconds(5));
        _local?.Dispose();
        if (_producer is { } p)
        {
            p.Flush(TimeSpan.FromSeconds(5));
            p.Dispose();
        }

        _stop.Dispose();
    }

    private IProducer<string, byte[]> Producer()
    {
        if (_producer is { } p)
        {
            return p;
        }

        lock (_table)
        {
            return _producer ??= new ProducerBuilder<string, byte[]>(_connection.Configure(new ProducerConfig
            {
                Acks = Acks.All,
                EnableIdempotence = !_connection.IsEmbedded,
                LingerMs = 20,
                MessageMaxBytes = Math.Max(1_000_000, _options.StateRecordMaxBytes + 4096),
            })).Build();
        }
    }

    /// <summary>Keeps the newer of the table's checkpoint and <paramref name="checkpoint"/>; false when the table is full.</summary>
    private bool Put(string workload, byte[] checkpoint)
    {
        var at = CheckpointEnvelope.WrittenAt(checkpoint);
        while (true)
        {
            if (_table.TryGetValue(workload, out var old))
            {
                if (CheckpointEnvelope.WrittenAt(old) > at)
                {
                    _records.WithLabels("stale").Inc();
                    return true;
                }

                var grow = (long)checkpoint.Length - old.Length;
                if (grow > 0 && _memory?.TryReserve(grow) == false)
                {
                    // The node's budget is spent: the older checkpoint stays (its workload restores less fresh).
                    _records.WithLabels("table_full").Inc();
                    return false;
                }

                if (!_table.TryUpdate(workload, checkpoint, old))
                {
                    if (grow > 0)
                    {
                        _memory?.Release(grow);
                    }

                    continue;
                }

                if (grow < 0)
                {
                    _memory?.Release(-grow);
                }

                _bytes.Set(Interlocked.Add(ref _tableBytes, grow));
                return true;
            }

            if (Interlocked.Read(ref _tableBytes) + checkpoint.Length > (long)_options.StateTableMaxMiB << 20 || _memory?.TryReserve(checkpoint.Length) == false)
            {
                _records.WithLabels("table_full").Inc();
                return false;
            }

            if (_table.TryAdd(workload, checkpoint))
            {
                _bytes.Set(Interlocked.Add(ref _tableBytes, checkpoint.Length));
                _workloads.Set(_table.Count);
                return true;
            }

            _memory?.Release(checkpoint.Length);
        }
    }
}
