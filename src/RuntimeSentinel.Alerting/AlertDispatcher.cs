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
    private readonly ArgumentRedactor _redactor;
    private readonly bool _eventClock;
    private DateTimeOffset _eventNow;

    // Event clock: the time each detection shard has processed up to (UTC ticks, 0 = never reported), under its lock.
    private readonly Lock _clockGate = new();
    private long[] _shardClocks = [];
    private readonly PriorityQueue<Alert, (long Ticks, string Workload, long Arrival)> _pending = new(PendingOrder.Instance);
    private long _arrivals;
    private readonly Core.Health.StageHealth _stage;
    private DateTimeOffset _nextSuppressionCheck;
    private long _published;
    private Task _loop = Task.CompletedTask;

    public AlertDispatcher(IEnumerable<IAlertSink> sinks, IEnumerable<IIncidentObserver> observers, IOptions<AlertingOptions> options, AlertingMetrics metrics, TimeProvider time, ILogger<AlertDispatcher> logger, Core.Health.HealthRegistry? health = null)
    {
        health ??= new Core.Health.HealthRegistry();
        _stage = health.Register("alert-dispatcher");
        _options = options.Value;
        _redactor = new ArgumentRedactor(_options.Redact);
        _eventClock = string.Equals(_options.Clock, "event", StringComparison.OrdinalIgnoreCase);
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

    public IReadOnlyList<SinkPipeline> Pipelines => _pipelines;

    public SuppressionRules Suppression => _suppression;

    /// <summary>The alert budgets (what they held back, for reports).</summary>
    public IncidentBudget Budget => _budget;

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
        alert.Receipt?.Settle(); // lost, and counted: holding its offset back would not bring it back
        LogDropped(_logger, alert.Workload.Value, alert.Category);
    }

    private TaskCompletionSource? _flushRequest;

    public async Task FlushAsync(TimeSpan timeout)
    {
        var request = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _flushRequest, request)?.TrySetResult();
        if (_loop.IsCompleted)
        {
            return;
        }

        // The loop picks the request up within its 250 ms tick.
        await Task.WhenAny(request.Task, _loop, Task.Delay(timeout)).ConfigureAwait(false);
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
    }

    private async Task RunAsync()
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

            DateTimeOffset now;
            if (_eventClock && FollowShards() is { } marked)
            {
                // Shards report clock marks: alerts are taken in event-time order up to the slowest shard's mark, so
                // what each incident holds when it is emitted depends on the stream only, never on thread timing.
                while (reader.TryRead(out var queued))
                {
                    _metrics.QueueDepth.Dec();
                    _pending.Enqueue(queued, (queued.Time.UtcTicks, queued.Workload.Value, _arrivals++));
                }

                ReleasePending(open ? marked : DateTimeOffset.MaxValue);
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

                    try
                    {
                        Correlate(_redactor.Apply(alert), now);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // One alert that breaks a rule, the correlator or a renderer costs that alert, never the loop.
                        _metrics.Dropped.WithLabels("failed").Inc();
                        alert.Receipt?.Settle();
                        _stage.ItemFailed($"alert {alert.Id}: {ex.GetType().Name}: {ex.Message}");
                        LogAlertFailed(_logger, ex, alert.Workload.Value, alert.Category);
                    }
                }
            }

            if (!open)
            {
                Guard(() => Emit(_correlator.Due(now, flushAll: true), now), "flush incidents");
                Guard(() => Emit(_budget.Summaries(now, flushAll: true), now, bypassBudget: true), "flush budget summaries");
                _metrics.OpenIncidents.Set(0);
                return;
            }

            if (Interlocked.Exchange(ref _flushRequest, null) is { } flush)
            {
                // A flush (revoke, stop) makes every published alert safe: the held ones too, whatever the clock says.
                ReleasePending(DateTimeOffset.MaxValue);
                Guard(() => Emit(_correlator.Due(now, flushAll: true), now), "flush incidents on request");
                flush.TrySetResult();
            }

            Guard(() => Emit(_correlator.Due(now), now), "emit incidents");
            Guard(() => Emit(_budget.Summaries(now), now, bypassBudget: true), "emit budget summaries");
            _metrics.OpenIncidents.Set(_correlator.OpenCount);
            if (_options.SuppressionFile is { Length: > 0 } file && now >= _nextSuppressionCheck)
            {
                _nextSuppressionCheck = now + _options.SuppressionReloadInterval;
                Guard(() => ReloadSuppression(file), "reload suppression rules");
            }
        }
    }

    public void AdvanceClock(int source, DateTimeOffset eventTime)
    {
        if (!_eventClock || source < 0)
        {
            return;
        }

        lock (_clockGate)
        {
            if (source >= _shardClocks.Length)
            {
                Array.Resize(ref _shardClocks, Math.Max(source + 1, _shardClocks.Length * 2));
            }

            _shardClocks[source] = Math.Max(_shardClocks[source], eventTime.UtcTicks);
        }
    }

    /// <summary>
    /// The event time every shard has passed (the slowest one's clock mark), or null when no shard reports marks (alerts
    /// published directly, e.g. by tests: their own times drive the clock). Read before the queue is drained, so every
    /// alert of an event up to it is already queued; the fastest shard's time would emit incidents before a slower
    /// shard's related alerts arrived, and which ones would depend on thread scheduling.
    /// </summary>
    private DateTimeOffset? FollowShards()
    {
        long slowest = long.MaxValue;
        lock (_clockGate)
        {
            foreach (var ticks in _shardClocks)
            {
                if (ticks > 0 && ticks < slowest)
                {
                    slowest = ticks;
                }
            }
        }

        return slowest == long.MaxValue ? null : new DateTimeOffset(slowest, TimeSpan.Zero);
    }

    /// <summary>
    /// Correlates the held alerts up to <paramref name="until"/> in event-time order; before each, the incidents due by its
    /// time are emitted, as they would have been live. Beyond the queue's capacity the oldest go regardless: a shard that
    /// stalled costs ordering, never memory.
    /// </summary>
    private void ReleasePending(DateTimeOffset until)
    {
        while (_pending.TryPeek(out var alert, out _) && (alert.Time <= until || _pending.Count > _options.QueueCapacity))
        {
            _pending.Dequeue();
            if (alert.Time > _eventNow)
            {
                _eventNow = alert.Time;
                var due = _eventNow;
                Guard(() => Emit(_correlator.Due(due), due), "emit incidents");
            }

            try
            {
                Correlate(_redactor.Apply(alert), _eventNow);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _metrics.Dropped.WithLabels("failed").Inc();
                alert.Receipt?.Settle();
                _stage.ItemFailed($"alert {alert.Id}: {ex.GetType().Name}: {ex.Message}");
                LogAlertFailed(_logger, ex, alert.Workload.Value, alert.Category);
            }
        }

        if (until != DateTimeOffset.MaxValue && until > _eventNow)
        {
            _eventNow = until;
        }
    }

    private sealed class PendingOrder : IComparer<(long Ticks, string Workload, long Arrival)>
    {
        public static readonly PendingOrder Instance = new();

        // Ties in time are broken by workload (ordinal) and then arrival, which is a workload's own, deterministic order.
        public int Compare((long Ticks, string Workload, long Arrival) x, (long Ticks, string Workload, long Arrival) y)
        {
            var c = x.Ticks.CompareTo(y.Ticks);
            if (c == 0)
            {
                c = string.CompareOrdinal(x.Workload, y.Workload);
            }

            return c != 0 ? c : x.Arrival.CompareTo(y.Arrival);
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
