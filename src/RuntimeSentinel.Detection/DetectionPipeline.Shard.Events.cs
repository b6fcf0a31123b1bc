using System.Diagnostics;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    /// <summary>The shard's event path: the event clock, the workload's baseline and models, findings to alerts.</summary>
    private sealed partial class Shard
    {
        private void Process(in IngestItem item)
        {
            if (item.IsClockMark)
            {
                // Everything ingested before the mark is done here: the shard's clock is at least the mark's time, and
                // alerting may judge incidents up to it (its alerts of earlier events are already published).
                var now = _watermark.Advance(item.Event.Timestamp, out var jumped);
                if (jumped)
                {
                    RestartLearningClocks(now);
                }

                _lastMark = item.Event.Timestamp > _lastMark ? item.Event.Timestamp : _lastMark;
                _alerts.AdvanceClock(_index, _lastMark);
                return;
            }

            AlertReceipt? receipt = null;
            int raised = 0, published = 0;
            try
            {
                var inventory = item.Event.Labels[EventLabels.Inventory] is not null;
                var now = _options.UseEventTime ? WorkloadClock(item.Event.Timestamp, inventory) : _time.GetUtcNow();
                // One lookup per event in the common case (the workload is known).
                var existed = _workloads.TryGetValue(item.Key, out var state);
                state ??= GetState(item.Key, now, item.Event);
                if (_options.UseEventTime)
                {
                    // Each workload's clock goes forward on its own events (and the input's marks): which other workloads
                    // share its shard, a matter of hashing and core count, must not move its windows.
                    now = now > state.Clock ? now : state.Clock;
                    state.Clock = now;
                }

                var baseline = state.Baseline;
                if (item.Event.Workload.Pod is { } pod && !ReferenceEquals(pod, state.LastPod))
                {
                    state.LastPod = pod;
                    _owners.SeenPod(item.Key, pod);
                }

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

                var e = item.Event;
                var path = e.Kind == EventKind.FileOpen && e.FilePath is { } p ? NormalizePath(p) : null;
                (baseline.Phase is BaselinePhase.Active or BaselinePhase.Shadow ? _active : _learning).Inc();
                var observed = state.Observe(e, path, item.Peer, now, _findings, _modelFindings);
                Count(item.Key, state, observed, now);

                // The event's offset completes once its alerts are safe (delivered or on disk), not when they are queued.
                raised = _findings.Count + _modelFindings.Count;
                receipt = raised > 0 && item.Completion is { } completion ? Receipt(raised, completion, item.Offset) : null;
                if (_findings.Count > 0)
                {
                    foreach (var f in _findings)
                    {
                        _alerts.Publish(AlertFactory.WithModelContext(AlertFactory.Create(item.Key, e, f, baseline.State(now), now), f, state.Models, _options.Models.TopFeatures) with { Receipt = receipt });
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
                        _alerts.Publish(AlertFactory.Create(item.Key, e, f, baseline.State(now), now, state.Models?.Model?.Card.Version) with { Receipt = receipt });
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
        /// An event's time for its workload: its own timestamp, never before the input's last clock mark (alerts are never
        /// older than what alerting already judged); the shard's trusted time for an inventory record or a far-ahead
        /// timestamp not confirmed yet (see <see cref="EventClock"/>).
        /// </summary>
        private DateTimeOffset WorkloadClock(DateTimeOffset ts, bool inventory)
        {
            var shard = EventClock(ts, inventory);
            var own = inventory || ts > shard ? shard : ts;
            return own > _lastMark ? own : _lastMark;
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
                RestartLearningClocks(now);
            }

            return now;
        }

        private void RestartLearningClocks(DateTimeOffset now)
        {
            foreach (var w in _workloads.Values)
            {
                if (w.Phase is BaselinePhase.Learning or BaselinePhase.Stale)
                {
                    w.Baseline.RestartClock(now);
                }
            }

            _metrics.ClockJumps.Inc();
        }

        private WorkloadState GetState(WorkloadKey key, DateTimeOffset now, in RuntimeEvent first)
        {
            if (_workloads.TryGetValue(key, out var state))
            {
                return state;
            }

            if (_workloads.Count >= _maxWorkloads)
            {
                Evict();
            }

            var restored = Restore(key);
            state = restored ?? WorkloadState.New(key, _options, now, _shared.NodeMemory, _shared.ModelMemory);
            if (restored is null)
            {
                // A container name the owner's active workload never had: judged from this, its first event.
                var added = _owners.Classify(key, first.Workload.Pod);
                if (added != AddedContainer.None)
                {
                    state.Baseline.MarkAdded(added, first.Workload, _owners.ActiveContainer(key)!);
                    LogContainerAdded(_logger, key.Value, added.ToString(), first.Workload.Pod ?? "?", first.Workload.Image ?? "?");
                }
            }
            else if (restored.Phase is BaselinePhase.Active or BaselinePhase.Shadow)
            {
                _owners.Active(key);
            }

            if (state.Models is { } models && _pendingModels.Remove(key, out var pending))
            {
                _metrics.ModelSwaps.WithLabels(models.Swap(pending, promoted: true) ? "applied" : "rejected").Inc();
                ReportFit(key.Value, pending.Card.Version, models);
            }

            _workloads.Add(key, state);
            _shared.Tracked[key] = 0;
            _shared.Appeared?.Invoke(key);
            if (_pendingFeedback.Count > 0)
            {
                var wall = _time.GetUtcNow();
                foreach (var verdict in _pendingFeedback.Where(f => key.Equals(f.Key)).ToList())
                {
                    // Wall-clock expiry: a verdict waits for its workload for a bounded time, not for ever.
                    if (verdict.PendingUntil > wall)
                    {
                        verdict.ApplyTo(state);
                    }

                    _pendingFeedback.Remove(verdict);
                }
            }

            _metrics.Workloads.WithLabels(state.Phase.ToWire()).Inc();
            if (restored is not null)
            {
                foreach (var f in Enum.GetValues<Feature>())
                {
                    _metrics.ItemsLearned.WithLabels(f.ToWire()).Inc(state.Baseline.Counter(f).Count);
                }

                _checkpointed[key] = ChangeMark(state);
            }

            return state;
        }

        /// <summary>Makes room for a new workload: idle learning workloads go first (they lose minutes of learning, an active one its whole baseline).</summary>
        private void Evict()
        {
            var idle = _workloads.Where(kv => kv.Value.Phase is BaselinePhase.Learning or BaselinePhase.Stale).DefaultIfEmpty().MinBy(kv => kv.Value?.Baseline.LastSeen ?? DateTimeOffset.MaxValue);
            if (idle.Value is null)
            {
                idle = _workloads.MinBy(kv => kv.Value.Baseline.LastSeen);
            }

            // Its checkpoint brings it back as it was when it returns (here or on another node).
            Checkpoint(idle.Key, idle.Value);
            _checkpointed.Remove(idle.Key);
            _unsafeCooldowns.Remove(idle.Key);
            _workloads.Remove(idle.Key);
            idle.Value.Release();
            _shared.Tracked.TryRemove(idle.Key, out _);
            _metrics.WorkloadsEvicted.Inc();
            _metrics.Workloads.WithLabels(idle.Value.Phase.ToWire()).Dec();
            foreach (var f in Enum.GetValues<Feature>())
            {
                _metrics.ItemsLearned.WithLabels(f.ToWire()).Dec(idle.Value.Baseline.Counter(f).Count);
            }

            LogEvicted(_logger, idle.Key.Value);
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

        /// <summary>Counts and logs what an event changed in a workload's state, and acts on a phase change.</summary>
        private void Count(WorkloadKey key, WorkloadState state, in WorkloadObservation o, DateTimeOffset now)
        {
            var changes = o.Baseline;
            if (changes.Any)
            {
                // Learning events come here often: no Enum.GetValues array per call.
                for (var i = 0; i < FeatureNames.All.Count; i++)
                {
                    var f = (Feature)i;
                    if (changes.Learned(f) > 0)
                    {
                        _metrics.ItemsLearned.WithLabels(f.ToWire()).Inc(changes.Learned(f));
                    }

                    if (changes.Exceeded(f) > 0)
                    {
                        CapacityExceeded(key, state.Baseline, f, changes.Exceeded(f));
                    }
                }
            }

            if (changes.PhaseChanged)
            {
                _metrics.Workloads.WithLabels(changes.From.ToWire()).Dec();
                _metrics.Workloads.WithLabels(changes.To.ToWire()).Inc();
                if (changes.From is BaselinePhase.Learning or BaselinePhase.Stale && changes.To is BaselinePhase.Active or BaselinePhase.Shadow)
                {
                    _owners.Active(key);
                    var b = state.Baseline;
                    _metrics.LearningDuration.Observe(((b.ActiveSince ?? b.LastSeen) - b.FirstSeen).TotalSeconds);
                    LogActive(_logger, key.Value, b.EventsLearned);
                }

                OnPhaseChanged(key, state, changes.From, now);
            }

            if (o.ModelWindows > 0)
            {
                _metrics.ModelWindows.Inc(o.ModelWindows);
            }

            if (o.ShadowExceedances > 0)
            {
                _metrics.ShadowExceedances.Inc(o.ShadowExceedances);
            }

            if (o.CooldownSuppressed > 0)
            {
                _metrics.Findings.WithLabels("cooldown").Inc(o.CooldownSuppressed);
            }

            if (o.Adapted > 0)
            {
                _metrics.Findings.WithLabels("adapted").Inc(o.Adapted);
            }

            if (o.WarmupHeld > 0)
            {
                _metrics.Findings.WithLabels("warmup").Inc(o.WarmupHeld);
            }

            if (!double.IsNaN(o.ScoreMargin))
            {
                _scoreMargin.Observe(o.ScoreMargin);
            }
        }

        private void CapacityExceeded(WorkloadKey key, WorkloadBaseline b, Feature feature, int refused)
        {
            var counter = _metrics.CapacityExceeded.WithLabels(feature.ToWire());
            var c = b.Counter(feature);
            if (c.MemoryRefused > 0 && _shared.FirstMemoryRefusal())
            {
                // Once per process: the node's budget is spent, every workload learns no more items until memory is freed.
                LogMemorySpent(_logger, key.Value, feature.ToWire(), _shared.NodeMemory.Used, _shared.NodeMemory.Limit);
            }
            else if (c.MemoryRefused == 0 && (counter.Value == 0 || c.Overflow == 1))
            {
                LogCapacity(_logger, key.Value, feature.ToWire(), _options.MaxItemsPerFeature);
            }

            counter.Inc(refused);
        }
    }
}
