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
    // How often the loop wakes without alerts: due incidents (group wait, interval, window) go out within a tick.
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

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
    private readonly ArgumentRedactor _redactor;
    private readonly bool _eventClock;
    private DateTimeOffset _eventNow;

    // Event clock: the time each detection shard has processed up to (UTC ticks, 0 = never reported), under its lock.
    private readonly EventTimeOrder _order;
    private readonly Core.Health.StageHealth _stage;
    private DateTimeOffset _nextSuppressionCheck;
    private long _published;
    private Task _loop = Task.CompletedTask;

    private readonly PassRequests _passes = new();

    public AlertDispatcher(IEnumerable<IAlertSink> sinks, IEnumerable<IIncidentObserver> observers, IOptions<AlertingOptions> options, AlertingMetrics metrics, TimeProvider time, ILogger<AlertDispatcher> logger, Core.Health.HealthRegistry? health = null)
    {
        health ??= new Core.Health.HealthRegistry();
        _stage = health.Register("alert-dispatcher");
        _options = options.Value;
        _redactor = new ArgumentRedactor(_options.Redact);
        _eventClock = string.Equals(_options.Clock, "event", StringComparison.OrdinalIgnoreCase);
        _order = new EventTimeOrder(_options.QueueCapacity);
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _observers = observers.ToArray();
        _pipelines = sinks.Select(s => new SinkPipeline(s, _options, metrics, logger, time, health.Register("sink-" + s.Name))).ToArray();
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

    // Internal: only this project's tests read the pipelines and the rules, so their types stay inside Alerting.
    internal IReadOnlyList<SinkPipeline> Pipelines => _pipelines;

    internal SuppressionRules Suppression => _suppression;

    /// <summary>The alert budgets (what they held back, for reports).</summary>
    public IncidentBudget Budget => _budget;

    public void Publish(Alert alert)
    {
        // The label comes from the category catalogue, so its values are bounded whatever string an alert carries.
        _metrics.Alerts.WithLabels(alert.Detector, AlertCategories.MetricLabel(alert.Category), alert.Severity.ToWire()).Inc();
        if (_queue.Writer.TryWrite(alert))
        {
            Interlocked.Increment(ref _published);
            _metrics.QueueDepth.Inc();
            return;
        }

        _metrics.Dropped.WithLabels("queue_full").Inc();
        alert.Receipt?.Settle(); // lost, and counted: holding its offset back would not bring it back
        LogDropped(_logger, alert.Workload.Value, alert.Category);
    }

    public async Task FlushAsync(TimeSpan timeout)
    {
        // Best effort before an offset commit: at the timeout the caller goes on, and what is not emitted yet stays
        // unsettled (its offsets are not committed).
        await _passes.Request(flush: true).WaitAsync(timeout, _time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// Runs one pass of the loop now instead of at its next tick and completes when that pass is done: every alert
    /// published before the call is correlated, and what is due at the clock's current time is emitted (observers have
    /// seen it, each sink's pipeline holds it). Completes at once when the loop does not run.
    /// </summary>
    /// <remarks>
    /// For tests: on a fake clock the loop would otherwise run only when alerts arrive or the clock passes a tick, so a
    /// test that advances the clock (past a group wait, a group interval) could only sleep and hope the loop had caught
    /// up, which is how such tests raced the wall clock on loaded CI machines. Production needs no such call.
    /// </remarks>
    internal Task TickAsync() => _passes.Request(flush: false);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var p in _pipelines)
        {
            p.Start();
        }

        LogStarted(_logger, string.Join(", ", _pipelines.Select(s => s.Name)));
        _passes.Started();

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
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Also when out of time: each sink spills what it still holds, so a restart delivers it.
            await Task.WhenAll(_pipelines.Select(p => p.StopAsync(cancellationToken))).ConfigureAwait(false);
        }
    }

    private async Task LoopAsync()
    {
        _stage.Running();
        try
        {
            await RunAsync().ConfigureAwait(false);
            _stage.Stopped();
        }
        catch (Exception ex)
        {
            // Every step below catches per item; reaching here means alerts would silently pile up and drop as
            // queue_full. Mark the stage faulted: /healthz fails and Kubernetes restarts the pod.
            _stage.Faulted($"{ex.GetType().Name}: {ex.Message}");
            LogFaulted(_logger, ex);
        }
        finally
        {
            _passes.Stopped();
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        while (true)
        {
            var open = await WaitAsync(reader).ConfigureAwait(false);

            // Taken before reading: an alert published before a request is in the queue now, so this pass handles it.
            var (answering, flush) = _passes.StartPass();
            DateTimeOffset now;
            if (_eventClock && _order.Slowest() is { } marked)
            {
                // Shards report clock marks: alerts are taken in event-time order up to the slowest shard's mark.
                while (reader.TryRead(out var queued))
                {
                    _metrics.QueueDepth.Dec();
                    _order.Hold(queued);
                }

                ReleaseHeld(open ? marked : DateTimeOffset.MaxValue);
                now = _eventNow;
            }
            else
            {
                now = Now();
                while (reader.TryRead(out var alert))
                {
                    _metrics.QueueDepth.Dec();
                    if (_eventClock && alert.Time > _eventNow)
                    {
                        // Replays and evaluations: grouping, windows and budgets follow the events' own time.
                        _eventNow = alert.Time;
                        now = _eventNow;
                    }

                    CorrelateOne(alert, now);
                }
            }

            if (!open)
            {
                // The requests still waiting are answered when the loop ends, after this final emission.
                Guard(() => Emit(_correlator.Due(now, flushAll: true), now), "flush incidents");
                Guard(() => Emit(_budget.Summaries(now, flushAll: true), now, bypassBudget: true), "flush budget summaries");
                _metrics.OpenIncidents.Set(0);
                return;
            }

            if (flush)
            {
                // A flush (revoke, stop) makes every published alert safe: the held ones too, whatever the clock says.
                ReleaseHeld(DateTimeOffset.MaxValue);
                Guard(() => Emit(_correlator.Due(now, flushAll: true), now), "flush incidents on request");
            }

            Guard(() => Emit(_correlator.Due(now), now), "emit incidents");
            Guard(() => Emit(_budget.Summaries(now), now, bypassBudget: true), "emit budget summaries");
            _metrics.OpenIncidents.Set(_correlator.OpenCount);
            if (_options.SuppressionFile is { Length: > 0 } file && now >= _nextSuppressionCheck)
            {
                _nextSuppressionCheck = now + _options.SuppressionReloadInterval;
                Guard(() => ReloadSuppression(file), "reload suppression rules");
            }

            _passes.EndPass(answering);
        }
    }

    public void AdvanceClock(int source, DateTimeOffset eventTime)
    {
        if (_eventClock && source >= 0)
        {
            _order.Advance(source, eventTime);
        }
    }

    /// <summary>The held alerts up to <paramref name="until"/>, with the incidents due between them (<see cref="EventTimeOrder"/>).</summary>
    private void ReleaseHeld(DateTimeOffset until) =>
        _eventNow = _order.Release(until, _eventNow, _correlator.NextDeadline, at => Guard(() => Emit(_correlator.Due(at), at), "emit incidents"), CorrelateOne);

    /// <summary>One alert that breaks a rule, the correlator or a renderer costs that alert, never the loop.</summary>
    private void CorrelateOne(Alert alert, DateTimeOffset now)
    {
        try
        {
            Correlate(_redactor.Apply(alert), now);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _metrics.Dropped.WithLabels("failed").Inc();
            alert.Receipt?.Settle();
            _stage.ItemFailed($"alert {alert.Id}: {ex.GetType().Name}: {ex.Message}");
            LogAlertFailed(_logger, ex, alert.Workload.Value, alert.Category);
        }
    }

    /// <summary>
    /// Waits for alerts, a pass request or the next tick (which emits due incidents even when no alerts arrive). False
    /// once the queue is completed and empty.
    /// </summary>
    private async ValueTask<bool> WaitAsync(ChannelReader<Alert> reader)
    {
        var wake = _passes.Wake;
        if (wake.IsCompleted || reader.TryPeek(out _))
        {
            return true;
        }

        using var tick = new CancellationTokenSource(TickInterval, _time);
        var ready = reader.WaitToReadAsync(tick.Token).AsTask();
        if (await Task.WhenAny(ready, wake).ConfigureAwait(false) != ready)
        {
            await tick.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            return await ready.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    private DateTimeOffset Now() => _eventClock ? (_eventNow == default ? _time.GetUtcNow() : _eventNow) : _time.GetUtcNow();

    private void Guard(Action step, string what)
    {
        try
        {
            step();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _stage.ItemFailed($"{what}: {ex.GetType().Name}: {ex.Message}");
            LogStepFailed(_logger, ex, what);
        }
    }

    private void Correlate(Alert alert, DateTimeOffset now)
    {
        if (_suppression.Match(alert, now) is { } rule)
        {
            _metrics.Suppressed.WithLabels(rule.Id).Inc();
            alert.Receipt?.Settle();
            return;
        }

        if (_correlator.Add(alert, now))
        {
            _metrics.Incidents.WithLabels(AlertCategories.MetricLabel(alert.Category), alert.Severity.ToWire()).Inc();
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
                AlertReceipt.SettleAll(incident.Receipts); // summarised by the budget, never delivered on its own
                continue;
            }

            foreach (var o in _observers)
            {
                Guard(() => o.OnIncident(incident), "incident observer");
            }

            // The alerts it brings are safe once every sink has delivered or spilled it.
            var receipts = incident.Receipts;
            Action? durable = null;
            if (receipts.Count > 0)
            {
                var sinks = _pipelines.Length;
                durable = () =>
                {
                    if (Interlocked.Decrement(ref sinks) == 0)
                    {
                        AlertReceipt.SettleAll(receipts);
                    }
                };
                if (_pipelines.Length == 0)
                {
                    AlertReceipt.SettleAll(receipts);
                }
            }

            foreach (var p in _pipelines)
            {
                // Each sink pipeline catches its own render and spill failures; one sink never starves the others.
                p.Enqueue(incident, durable);
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
}
