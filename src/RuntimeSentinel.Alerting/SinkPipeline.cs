using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// Delivery for one sink: a bounded in-memory queue of rendered incidents, sent in batches (by size and time),
/// retried with exponential back-off, and spilled to a bounded on-disk queue when the sink stays down. While
/// anything is spilled, new batches are spilled behind it, so order is kept; a successful delivery of the oldest
/// spilled batch starts the replay. On stop, what cannot be delivered quickly is spilled, to be sent after restart.
/// </summary>
internal sealed partial class SinkPipeline
{
    // While incidents wait on disk, the loop wakes this often without new incidents, to try the oldest spilled batch.
    private static readonly TimeSpan ReplayWake = TimeSpan.FromMilliseconds(200);

    // A send that hangs (an endpoint that accepts and never answers) is abandoned after this long and counts as failed.
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    private readonly IAlertSink _sink;
    private readonly AlertingOptions _options;
    private readonly AlertingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<Item> _queue;

    // Callbacks of the batch in hand: each runs once its incident is delivered or on disk (see AlertReceipt).
    private readonly List<Action?> _batchDurable = [];
    private readonly DiskQueue _disk;
    private readonly Prometheus.Gauge.Child _memoryDepth;
    private readonly Prometheus.Gauge.Child _diskDepth;
    private TimeSpan _backoff;
    private Task _loop = Task.CompletedTask;

    private readonly Core.Health.StageHealth _stage;

    public SinkPipeline(IAlertSink sink, AlertingOptions options, AlertingMetrics metrics, ILogger logger, TimeProvider time, Core.Health.StageHealth? stage = null)
    {
        _stage = stage ?? new Core.Health.HealthRegistry().Register("sink-" + sink.Name);
        _sink = sink;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        metrics.RegisterSink(sink.Name);
        _memoryDepth = metrics.SinkQueue.WithLabels(sink.Name, "memory");
        _diskDepth = metrics.SinkQueue.WithLabels(sink.Name, "disk");
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.SinkQueueCapacity) { SingleReader = false, FullMode = BoundedChannelFullMode.Wait });
        _disk = new DiskQueue(Path.Combine(options.SpillDirectory, sink.Name), options.SpillMaxBytes);
        _diskDepth.Set(_disk.Count);
    }

    public string Name => _sink.Name;

    /// <summary>Items waiting on disk (spilled and not yet delivered).</summary>
    public long Spilled => _disk.Count;

    public void Start() => _loop = Task.Run(SuperviseAsync);

    private async Task SuperviseAsync()
    {
        _stage.Running();
        try
        {
            await RunAsync().ConfigureAwait(false);
            _stage.Stopped();
        }
        catch (Exception ex)
        {
            // Delivery, replay and spill catch per batch; an escape here means this sink delivers nothing more.
            _stage.Faulted($"{ex.GetType().Name}: {ex.Message}");
            LogFaulted(_logger, ex, _sink.Name);
        }
    }

    public void Enqueue(Incident incident) => Enqueue(incident, null);

    /// <param name="durable">Runs once the incident is delivered or spilled to disk (or can be neither: a render or disk failure, counted).</param>
    public void Enqueue(Incident incident, Action? durable)
    {
        byte[] item;
        try
        {
            item = _sink.Render(incident);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogRenderFailed(_logger, ex, _sink.Name, incident.Id);
            _metrics.SinkFailures.WithLabels(_sink.Name).Inc();
            _stage.ItemFailed($"render {incident.Id}: {ex.GetType().Name}");
            durable?.Invoke();
            return;
        }

        if (_queue.Writer.TryWrite(new Item(item, durable)))
        {
            _memoryDepth.Inc();
            return;
        }

        // Memory queue full (sink far behind) or stopped: go straight to disk rather than drop.
        lock (_disk)
        {
            Spill([item]);
        }

        durable?.Invoke();
    }

    private readonly record struct Item(byte[] Bytes, Action? Durable);

    private static void Settle(List<Action?> durable)
    {
        foreach (var d in durable)
        {
            d?.Invoke();
        }

        durable.Clear();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of shutdown time (a sink hanging on a slow endpoint): what still waits in memory goes to disk for
            // the next start instead of dying with the process. Incidents enqueued after this spill on their own
            // (the completed queue refuses them). Only the batch in flight depends on the sink's answer.
            var rest = new List<byte[]>();
            var durable = new List<Action?>();
            while (_queue.Reader.TryRead(out var item))
            {
                _memoryDepth.Dec();
                rest.Add(item.Bytes);
                durable.Add(item.Durable);
            }

            if (rest.Count > 0)
            {
                lock (_disk)
                {
                    Spill(rest);
                }
            }

            Settle(durable);

            LogStopDeadline(_logger, _sink.Name, rest.Count);
            throw;
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<byte[]>(_options.MaxBatchSize);
        var completed = false;
        var failuresWhileStopping = 0;
        while (!completed || batch.Count > 0 || !_disk.IsEmpty)
        {
            if (!completed && batch.Count < _options.MaxBatchSize)
            {
                completed = !await FillAsync(reader, batch).ConfigureAwait(false);
            }

            lock (_disk)
            {
                if (!_disk.IsEmpty && batch.Count > 0)
                {
                    // Keep order: while older incidents wait on disk, newer ones queue behind them.
                    Spill(batch);
                    batch.Clear();
                    Settle(_batchDurable);
                }
            }

            if (!_disk.IsEmpty)
            {
                if (!await ReplayOldestAsync().ConfigureAwait(false))
                {
                    if (completed && reader.Completion.IsCompleted && ++failuresWhileStopping >= _options.RetryAttempts)
                    {
                        return; // stopping while the sink is down: everything is on disk for the next start
                    }

                    await PauseAsync().ConfigureAwait(false);
                }

                continue;
            }

            if (batch.Count == 0)
            {
                continue;
            }

            if (await TryDeliverAsync(batch).ConfigureAwait(false))
            {
                batch.Clear();
                Settle(_batchDurable);
                continue;
            }

            lock (_disk)
            {
                Spill(batch);
            }

            batch.Clear();
            Settle(_batchDurable);
            if (!completed)
            {
                await PauseAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for a first item, then gathers more for up to BatchDelay. False when the queue is completed.</summary>
    private async Task<bool> FillAsync(ChannelReader<Item> reader, List<byte[]> batch)
    {
        if (batch.Count == 0 && !reader.TryPeek(out _))
        {
            // Nothing queued: wait for incidents, and while spilled ones wait on disk, wake now and then to replay them.
            // (Armed only when the loop really waits, so a test on a fake clock sees a timer exactly when it is idle.)
            using var wake = _disk.IsEmpty ? null : new CancellationTokenSource(ReplayWake, _time);
            try
            {
                if (!await reader.WaitToReadAsync(wake?.Token ?? CancellationToken.None).ConfigureAwait(false))
                {
                    return false;
                }
            }
            catch (OperationCanceledException)
            {
                return true;
            }
        }

        var deadline = _time.GetUtcNow() + _options.BatchDelay;
        while (batch.Count < _options.MaxBatchSize)
        {
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var item))
            {
                _memoryDepth.Dec();
                batch.Add(item.Bytes);
                _batchDurable.Add(item.Durable);
            }

            var left = deadline - _time.GetUtcNow();
            if (batch.Count >= _options.MaxBatchSize || left <= TimeSpan.Zero)
            {
                break;
            }

            using var cts = new CancellationTokenSource(left, _time);
            try
            {
                if (!await reader.WaitToReadAsync(cts.Token).ConfigureAwait(false))
                {
                    return false;
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return true;
    }

    private async Task<bool> TryDeliverAsync(List<byte[]> batch)
    {
        var attempts = Math.Max(1, _options.RetryAttempts);
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            try
            {
                using var timeout = new CancellationTokenSource(SendTimeout, _time);
                await _sink.SendAsync(batch, timeout.Token).ConfigureAwait(false);
                _metrics.SinkSent.WithLabels(_sink.Name).Inc(batch.Count);
                _backoff = TimeSpan.Zero;
                return true;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _metrics.SinkFailures.WithLabels(_sink.Name).Inc();
                LogDeliveryFailed(_logger, _sink.Name, batch.Count, attempt, ex.Message);
                if (attempt < attempts)
                {
                    _metrics.SinkRetries.WithLabels(_sink.Name).Inc();
                    await Task.Delay(_options.RetryBaseDelay * Math.Pow(2, attempt - 1), _time).ConfigureAwait(false);
                }
            }
        }

        return false;
    }

    private async Task<bool> ReplayOldestAsync()
    {
        (string File, List<byte[]> Items)? oldest;
        lock (_disk)
        {
            try
            {
                oldest = _disk.Peek();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _stage.ItemFailed($"spill read failed: {ex.Message}");
                return false;
            }
        }

        if (oldest is not { } b)
        {
            return true;
        }

        try
        {
            using var timeout = new CancellationTokenSource(SendTimeout, _time);
            await _sink.SendAsync(b.Items, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _metrics.SinkFailures.WithLabels(_sink.Name).Inc();
            LogReplayFailed(_logger, _sink.Name, _disk.Count, ex.Message);
            return false;
        }

        lock (_disk)
        {
            try
            {
                _disk.Remove(b.File, b.Items.Count);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Delivered but not removable: it will be sent again (receivers de-duplicate on id and version).
                _stage.ItemFailed($"spill remove failed: {ex.Message}");
            }

            _diskDepth.Set(_disk.Count);
        }

        _metrics.SinkSent.WithLabels(_sink.Name).Inc(b.Items.Count);
        _backoff = TimeSpan.Zero;
        if (_disk.IsEmpty)
        {
            LogRecovered(_logger, _sink.Name);
        }

        return true;
    }

    private void Spill(IReadOnlyList<byte[]> items)
    {
        long dropped;
        try
        {
            dropped = _disk.Append(items);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Disk full or read-only: these incidents cannot be kept. Counted as dropped and reported, never fatal.
            _metrics.SinkSpillDropped.WithLabels(_sink.Name).Inc(items.Count);
            _stage.ItemFailed($"spill failed: {ex.Message}");
            LogSpillFailed(_logger, ex, _sink.Name, items.Count);
            return;
        }

        _metrics.SinkSpilled.WithLabels(_sink.Name).Inc(items.Count);
        if (dropped > 0)
        {
            _metrics.SinkSpillDropped.WithLabels(_sink.Name).Inc(dropped);
            LogSpillDropped(_logger, _sink.Name, dropped);
        }

        _diskDepth.Set(_disk.Count);
    }

    private Task PauseAsync()
    {
        _backoff = _backoff == TimeSpan.Zero ? _options.RetryBaseDelay : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, _options.MaxBackoff.Ticks));
        return Task.Delay(_backoff, _time);
    }
}
