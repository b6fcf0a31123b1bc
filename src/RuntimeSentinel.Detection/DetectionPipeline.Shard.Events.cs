using System.Diagnostics;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    /// <summary>The shard's event path: the event clock, the workload's baseline and models, findings to alerts.</summary>
    private sealed partial class Shard
    {
        private void Process(in IngestItem item)
        {
            AlertReceipt? receipt = null;
            int raised = 0, published = 0;
            try
            {
                var inventory = item.Event.Labels[EventLabels.Inventory] is not null;
                var now = _options.UseEventTime ? EventClock(item.Event.Timestamp, inventory) : _time.GetUtcNow();
                var existed = _baselines.ContainsKey(item.Key);
                var baseline = GetBaseline(item.Key, now);
                if (_options.UseEventTime)
                {
                    if (!existed && inventory && _watermark.Now == default)
                    {
                        baseline.ProvisionalClock = true;
                    }
                    else if (!inventory && baseline.ProvisionalClock)
                    {
                        baseline.RestartClock(now);
                    }
                }

                _current = item.Key;
                var e = item.Event;
                var path = e.Kind == EventKind.FileOpen && e.FilePath is { } p ? NormalizePath(p) : null;
                var suppressedBefore = baseline.CooldownSuppressed;
                var adaptedBefore = baseline.AdaptedItems;
                var phase = baseline.Phase;
                (phase is BaselinePhase.Active or BaselinePhase.Shadow ? _active : _learning).Inc();
                baseline.Observe(e, path, now, this, _findings, item.Peer);
                if (baseline.Models is { } models)
                {
                    // The phase the event was observed in: the event that ends learning is still learning data.
                    var windows = models.WindowsScored;
                    var shadow = models.ShadowExceedances;
                    models.Observe(e, baseline.LastEventKnown, phase, now, _modelFindings);
                    if (models.WindowsScored != windows)
                    {
                        _metrics.ModelWindows.Inc(models.WindowsScored - windows);
                    }

                    if (models.ShadowExceedances != shadow)
                    {
                        _metrics.ShadowExceedances.Inc(models.ShadowExceedances - shadow);
                    }
                }

                if (baseline.Phase != phase)
                {
                    OnPhaseChanged(item.Key, baseline, phase, now);
                }

                if (baseline.CooldownSuppressed != suppressedBefore)
                {
                    _metrics.Findings.WithLabels("cooldown").Inc(baseline.CooldownSuppressed - suppressedBefore);
                }

                if (baseline.AdaptedItems != adaptedBefore)
                {
                    _metrics.Findings.WithLabels("adapted").Inc(baseline.AdaptedItems - adaptedBefore);
                }

                if (!double.IsNaN(baseline.LastScoreMargin))
                {
                    _scoreMargin.Observe(baseline.LastScoreMargin);
                }

                if (_modelFindings.Count > 0 && baseline.WarmingUp(now))
                {
                    // A container starting or stopping (a replica, a restart, a rollout) makes processes, files and CPU
                    // unlike steady state: a finding made (90 % of its score) of those is counted, not raised. Volumes,
                    // peers and failures still alert.
                    var before = _modelFindings.Count;
                    _modelFindings.RemoveAll(IsStartupOnly);
                    _metrics.Findings.WithLabels("warmup").Inc(before - _modelFindings.Count);
                }

                // The event's offset completes once its alerts are safe (delivered or on disk), not when they are queued.
                raised = _findings.Count + _modelFindings.Count;
                receipt = raised > 0 && item.Completion is { } completion ? Receipt(raised, completion, item.Offset) : null;
                if (_findings.Count > 0)
                {
                    foreach (var f in _findings)
                    {
                        _alerts.Publish(AlertFactory.WithModelContext(AlertFactory.Create(item.Key, e, f, baseline.State(now), now), f, baseline.Models, _options.Models.TopFeatures) with { Receipt = receipt });
                        published++;
                        if (receipt is not null)
                        {
                            NoteUnsafe(item.Key, f.Feature, f.Item, receipt);
                        }
                        baseline.AlertsRaised++;
                        _rate.Record(_time.GetUtcNow());
                    }

                    _findings.Clear();
                }

                if (_modelFindings.Count > 0)
                {
                    foreach (var f in _modelFindings)
                    {
                        _alerts.Publish(AlertFactory.Create(item.Key, e, f, baseline.State(now), now, baseline.Models?.Model?.Card.Version) with { Receipt = receipt });
                        published++;
                        baseline.AlertsRaised++;
                        _rate.Record(_time.GetUtcNow());
                    }

                    _modelFindings.Clear();
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One poisoned event must not stop the shard; it is logged and still committed (it cannot succeed on retry).
                LogShardError(_logger, ex, _index, item.Key.Value);
                for (; receipt is not null && published < raised; published++)
                {
                    receipt.Settle();
                }
            }

            if (receipt is null)
            {
                item.Completion?.Complete(item.Offset);
            }

            _metrics.Latency.Observe(Stopwatch.GetElapsedTime(item.EnqueuedTimestamp).TotalSeconds);
        }

        /// <summary>
        /// Event time for this shard (<see cref="EventWatermark"/>): never going back, late and inventory events happen
        /// "now", a far-ahead timestamp counts only once the stream confirms it. A confirmed jump (a stream that began
        /// with old events, then went live) restarts the learning clock of every workload still learning here: learning
        /// time counts inside the live window, not across the gap.
        /// </summary>
        private DateTimeOffset EventClock(DateTimeOffset ts, bool inventory)
        {
            var now = _watermark.Observe(ts, inventory, out var jumped);
            if (jumped)
            {
                foreach (var b in _baselines.Values)
                {
                    if (b.Phase is BaselinePhase.Learning or BaselinePhase.Stale)
                    {
                        b.RestartClock(now);
                    }
                }

                _metrics.ClockJumps.Inc();
            }

            return now;
        }

        private WorkloadBaseline GetBaseline(WorkloadKey key, DateTimeOffset now)
        {
            if (_baselines.TryGetValue(key, out var b))
            {
                return b;
            }

            if (_baselines.Count >= _maxWorkloads)
            {
                // Idle learning workloads go first: they lose minutes of learning, an active one its whole baseline.
                var idle = _baselines.Where(kv => kv.Value.Phase is BaselinePhase.Learning or BaselinePhase.Stale).DefaultIfEmpty().MinBy(kv => kv.Value?.LastSeen ?? DateTimeOffset.MaxValue);
                if (idle.Value is null)
                {
                    idle = _baselines.MinBy(kv => kv.Value.LastSeen);
                }

                // Its checkpoint brings it back as it was when it returns (here or on another node).
                Checkpoint(idle.Key, idle.Value);
                _checkpointed.Remove(idle.Key);
                _unsafeCooldowns.Remove(idle.Key);
                _baselines.Remove(idle.Key);
                idle.Value.ReleaseMemory();
                idle.Value.Models?.Release();
                _owner.OnGone(idle.Key.Value);
                _metrics.WorkloadsEvicted.Inc();
                _metrics.Workloads.WithLabels(idle.Value.Phase.ToWire()).Dec();
                foreach (var f in Enum.GetValues<Feature>())
                {
                    _metrics.ItemsLearned.WithLabels(f.ToWire()).Dec(idle.Value.Counter(f).Count);
                }

                LogEvicted(_logger, idle.Key.Value);
            }

            var restored = Restore(key);
            b = restored?.Baseline ?? new WorkloadBaseline(_options, now, _owner.NodeMemory);
            if (_options.Models.Enabled)
            {
                b.Models = new ModelRuntime(key.Value, _options.Models, _options.TargetAlertsPerWorkloadDay, _owner.ModelMemory);
                if (restored?.Model is { } model)
                {
                    _metrics.ModelSwaps.WithLabels(b.Models.Swap(model, restored.ModelPromoted) ? "applied" : "rejected").Inc();
                    ReportFit(key.Value, model.Card.Version, b.Models);
                }

                if (_pendingModels.Remove(key.Value, out var pending))
                {
                    _metrics.ModelSwaps.WithLabels(b.Models.Swap(pending, promoted: true) ? "applied" : "rejected").Inc();
                    ReportFit(key.Value, pending.Card.Version, b.Models);
                }
            }

            _baselines.Add(key, b);
            _owner.OnAppeared(key.Value);
            if (_pendingFeedback.Count > 0)
            {
                var wall = _time.GetUtcNow();
                foreach (var pending in _pendingFeedback.Where(f => f.Workload == key.Value).ToList())
                {
                    // Wall-clock expiry: a verdict waits for its workload for a bounded time, not for ever.
                    if (pending.PendingUntil > wall)
                    {
                        pending.ApplyTo(b);
                    }

                    _pendingFeedback.Remove(pending);
                }
            }

            _metrics.Workloads.WithLabels(b.Phase.ToWire()).Inc();
            if (restored is not null)
            {
                foreach (var f in Enum.GetValues<Feature>())
                {
                    _metrics.ItemsLearned.WithLabels(f.ToWire()).Inc(b.Counter(f).Count);
                }

                _checkpointed[key] = ChangeMark(b);
            }

            return b;
        }

        private string NormalizePath(string raw)
        {
            if (_pathCache.TryGetValue(raw, out var n))
            {
                return n;
            }

            n = PathNormalizer.Normalize(raw);
            if (_pathCache.Count >= 16384)
            {
                _pathCache.Clear();
            }

            _pathCache[raw] = n;
            return n;
        }

        public void ItemLearned(Feature feature) => _metrics.ItemsLearned.WithLabels(feature.ToWire()).Inc();

        public void CapacityExceeded(Feature feature)
        {
            var counter = _metrics.CapacityExceeded.WithLabels(feature.ToWire());
            var c = _current is not null && _baselines.TryGetValue(_current, out var b) ? b.Counter(feature) : null;
            if (c?.MemoryRefused > 0 && Interlocked.Exchange(ref _owner._memoryRefusalLogged, 1) == 0)
            {
                // Once per process: the node's budget is spent, every workload learns no more items until memory is freed.
                LogMemorySpent(_logger, _current?.Value ?? "?", feature.ToWire(), _owner.NodeMemory.Used, _owner.NodeMemory.Limit);
            }
            else if (c?.MemoryRefused == 0 && (counter.Value == 0 || c.Overflow == 1))
            {
                LogCapacity(_logger, _current?.Value ?? "?", feature.ToWire(), _options.MaxItemsPerFeature);
            }

            counter.Inc();
        }

        public void PhaseChanged(BaselinePhase from, BaselinePhase to)
        {
            _metrics.Workloads.WithLabels(from.ToWire()).Dec();
            _metrics.Workloads.WithLabels(to.ToWire()).Inc();
            if (from is BaselinePhase.Learning or BaselinePhase.Stale && _current is not null && _baselines.TryGetValue(_current, out var b))
            {
                _metrics.LearningDuration.Observe(((b.ActiveSince ?? b.LastSeen) - b.FirstSeen).TotalSeconds);
                LogActive(_logger, _current.Value, b.EventsLearned);
            }
        }
    }
}
