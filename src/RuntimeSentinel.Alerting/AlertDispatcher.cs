using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// Takes alerts from detection shards without blocking them (bounded queue, <c>TryWrite</c>; a full queue drops
/// and counts) and fans them out in batches to every registered sink from one thread. Registered before
/// detection and ingestion, so the host stops it last and it drains what they produced.
/// </summary>
public sealed partial class AlertDispatcher : IHostedService, IAlertPublisher
{
    private readonly Channel<Alert> _queue;
    private readonly IAlertSink[] _sinks;
    private readonly AlertingMetrics _metrics;
    private readonly ILogger<AlertDispatcher> _logger;
    private readonly int _maxBatch;
    private long _published;
    private Task _loop = Task.CompletedTask;

    public AlertDispatcher(IEnumerable<IAlertSink> sinks, IOptions<AlertingOptions> options, AlertingMetrics metrics, ILogger<AlertDispatcher> logger)
    {
        _sinks = sinks.ToArray();
        _metrics = metrics;
        foreach (var sink in _sinks)
        {
            // Series exist from the start, so rate() and "absent" alert rules work before the first failure.
            metrics.SinkSent.WithLabels(sink.Name);
            metrics.SinkFailures.WithLabels(sink.Name);
        }

        _logger = logger;
        _maxBatch = options.Value.MaxBatchSize;
        _queue = Channel.CreateBounded<Alert>(new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite only, "Wait" means TryWrite fails when full
        });
    }

    /// <summary>Alerts accepted so far (dropped ones excluded).</summary>
    public long Published => Interlocked.Read(ref _published);

    public IReadOnlyList<IAlertSink> Sinks => _sinks;

    public void Publish(Alert alert)
    {
        _metrics.Alerts.WithLabels(alert.Detector, alert.Category, alert.Severity.ToWire()).Inc();
        if (_queue.Writer.TryWrite(alert))
        {
            Interlocked.Increment(ref _published);
            _metrics.QueueDepth.Inc();
            return;
        }

        _metrics.Dropped.WithLabels("queue_full").Inc();
        LogDropped(_logger, alert.Workload.Value, alert.Category);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Not a BackgroundService: its ExecuteAsync may never start if the host stops at once, and this loop
        // must always run to drain what was published.
        _loop = Task.Run(DeliverLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task DeliverLoopAsync()
    {
        LogStarted(_logger, string.Join(", ", _sinks.Select(s => s.Name)));
        var batch = new List<Alert>(_maxBatch);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (batch.Count < _maxBatch && reader.TryRead(out var a))
                {
                    batch.Add(a);
                }

                _metrics.QueueDepth.Dec(batch.Count);
                await DeliverAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        finally
        {
            foreach (var sink in _sinks)
            {
                try
                {
                    await sink.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    LogSinkFailed(_logger, ex, sink.Name, 0);
                }
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Detection has stopped (reverse registration order); deliver what is queued, then flush the sinks.
        // If the host's shutdown timeout fires first, what is left stays counted in sentinel_alert_queue_depth.
        _queue.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task DeliverAsync(List<Alert> batch)
    {
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.WriteAsync(batch, CancellationToken.None).ConfigureAwait(false);
                _metrics.SinkSent.WithLabels(sink.Name).Inc(batch.Count);
            }
            catch (Exception ex)
            {
                _metrics.SinkFailures.WithLabels(sink.Name).Inc();
                LogSinkFailed(_logger, ex, sink.Name, batch.Count);
            }
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Alert delivery started; sinks: {Sinks}")]
    private static partial void LogStarted(ILogger logger, string sinks);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Alert queue full; dropped {Category} alert for {Workload}")]
    private static partial void LogDropped(ILogger logger, string workload, string category);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Alert sink {Sink} failed to deliver {Count} alerts")]
    private static partial void LogSinkFailed(ILogger logger, Exception ex, string sink, int count);
}
