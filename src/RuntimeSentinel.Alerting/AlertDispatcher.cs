using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// Takes alerts from detection shards without blocking them (bounded queue, <c>TryWrite</c>; a full queue drops
/// and counts) and, on one thread: applies suppression rules, folds alerts into incidents, applies the alert
/// budgets, and hands each incident to every sink's delivery pipeline. Registered before detection and ingestion,
/// so the host stops it last: it then flushes open incidents and lets every pipeline deliver or spill.
/// </summary>
public sealed partial class AlertDispatcher : IHostedService, IAlertPublisher
{
    private readonly Channel<Alert> _queue;
    private readonly SinkPipeline[] _pipelines;
    private readonly IIncidentObserver[] _observers;
    private readonly AlertingOptions _options;
    private readonly AlertingMetrics _metrics;
    private readonly ILogger<AlertDispatcher> _logger;
    private readonly TimeProvider _time;
    private readonly IncidentCorrelator _correlator;
    private readonly IncidentBudget _budget;
    private readonly SuppressionRules _suppression = new();
    private DateTimeOffset _nextSuppressionCheck;
    private long _published;
    private Task _loop = Task.CompletedTask;

    public AlertDispatcher(IEnumerable<IAlertSink> sinks, IEnumerable<IIncidentObserver> observers, IOptions<AlertingOptions> options, AlertingMetrics metrics, TimeProvider time, ILogger<AlertDispatcher> logger)
    {
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _observers = observers.ToArray();
        _pipelines = sinks.Select(s => new SinkPipeline(s, _options, metrics, logger, time)).ToArray();
        _correlator = new IncidentCorrelator(_options);
        _budget = new IncidentBudget(_options);
        _queue = Channel.CreateBounded<Alert>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite only, "Wait" means TryWrite fails when full
        });
        if (_options.SuppressionFile is { Length: > 0 } file)
        {
            ReloadSuppression(file);
        }
    }

    /// <summary>Alerts accepted so far (dropped ones excluded).</summary>
    public long Published => Interlocked.Read(ref _published);

    public IReadOnlyList<SinkPipeline> Pipelines => _pipelines;

    public SuppressionRules Suppression => _suppression;

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
        foreach (var p in _pipelines)
        {
            p.Start();
        }

        LogStarted(_logger, string.Join(", ", _pipelines.Select(s => s.Name)));

        // Not a BackgroundService: its ExecuteAsync may never start if the host stops at once, and this loop
        // must always run to drain what was published.
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Detection has stopped (reverse registration order): correlate what is queued, flush open incidents,
        // then let each sink deliver or spill to disk for the next start.
        _queue.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(_pipelines.Select(p => p.StopAsync(cancellationToken))).ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        while (true)
        {
            var open = true;
            using (var tick = new CancellationTokenSource(TimeSpan.FromMilliseconds(250)))
            {
                try
                {
                    open = await reader.WaitToReadAsync(tick.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Periodic tick: emit due incidents even when no alerts arrive.
                }
            }

            var now = _time.GetUtcNow();
            while (reader.TryRead(out var alert))
            {
                _metrics.QueueDepth.Dec();
                Correlate(alert, now);
            }

            if (!open)
            {
                Emit(_correlator.Due(now, flushAll: true), now);
                Emit(_budget.Summaries(now, flushAll: true), now, bypassBudget: true);
                _metrics.OpenIncidents.Set(0);
                return;
            }

            Emit(_correlator.Due(now), now);
            Emit(_budget.Summaries(now), now, bypassBudget: true);
            _metrics.OpenIncidents.Set(_correlator.OpenCount);
            if (_options.SuppressionFile is { Length: > 0 } file && now >= _nextSuppressionCheck)
            {
                _nextSuppressionCheck = now + _options.SuppressionReloadInterval;
                ReloadSuppression(file);
            }
        }
    }

    private void Correlate(Alert alert, DateTimeOffset now)
    {
        if (_suppression.Match(alert, now) is { } rule)
        {
            _metrics.Suppressed.WithLabels(rule.Id).Inc();
            return;
        }

        if (_correlator.Add(alert, now))
        {
            _metrics.Incidents.WithLabels(alert.Category, alert.Severity.ToWire()).Inc();
        }
        else
        {
            _metrics.Folded.Inc();
        }
    }

    private void Emit(List<Incident> incidents, DateTimeOffset now, bool bypassBudget = false)
    {
        foreach (var incident in incidents)
        {
            if (!bypassBudget && incident.Version == 1 && !_budget.TryTake(incident, now, out var scope))
            {
                _metrics.HeldBack.WithLabels(scope).Inc();
                continue;
            }

            foreach (var o in _observers)
            {
                o.OnIncident(incident);
            }

            foreach (var p in _pipelines)
            {
                p.Enqueue(incident);
            }
        }
    }

    private void ReloadSuppression(string file)
    {
        var result = _suppression.ReloadIfChanged(file);
        if (result is null)
        {
            return;
        }

        _metrics.SuppressionReloads.WithLabels(result.Value ? "ok" : "failed").Inc();
        var now = _time.GetUtcNow();
        _metrics.SuppressionRules.Set(_suppression.Rules.Count(r => r.Expires > now));
        if (result.Value)
        {
            LogSuppressionLoaded(_logger, file, _suppression.Rules.Count);
        }
        else
        {
            LogSuppressionInvalid(_logger, file, string.Join("; ", _suppression.LastErrors));
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Alert delivery started; sinks: {Sinks}")]
    private static partial void LogStarted(ILogger logger, string sinks);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Alert queue full; dropped {Category} alert for {Workload}")]
    private static partial void LogDropped(ILogger logger, string workload, string category);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Suppression rules loaded from {File}: {Count} rules")]
    private static partial void LogSuppressionLoaded(ILogger logger, string file, int count);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Suppression file {File} is invalid; keeping the previous rules: {Errors}")]
    private static partial void LogSuppressionInvalid(ILogger logger, string file, string errors);
}
