using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>The checkpoint form of a baseline: everything it learned and every clock it runs on.</summary>
public sealed partial class WorkloadBaseline
{
    private const int MaxSmallSet = 64;

    /// <param name="unsafeCooldown">Cooldowns of alerts not yet delivered or on disk: left out, so that replaying their
    /// events after a crash (their offsets are not committed) raises them again instead of finding them cooling down.</param>
    internal void WriteState(StateWriter w, Func<Feature, FeatureKey, bool>? unsafeCooldown = null)
    {
        w.Byte((byte)Phase);
        w.Time(FirstSeen);
        w.Time(LastSeen);
        w.Time(LearningSince);
        w.NullableTime(ActiveSince);
        w.NullableTime(ShadowSince);
        w.Long(EventsLearned);
        w.Long(EventsScored);
        w.Long(AlertsRaised);
        w.Long(CooldownSuppressed);
        w.Long(AdaptedItems);
        w.NullableString(RelearnedFor);
        w.NullableString(AdaptingTo);
        w.Time(AdaptingUntil);
        w.Time(WarmupUntil);
        w.Count(ContainersWhileLearning);
        w.Bool(ProvisionalClock);
        w.Byte(_runBased switch { null => 0, false => 1, true => 2 });

        w.Count(_counters.Length);
        foreach (var c in _counters)
        {
            w.Long(c.Total);
            w.Long(c.Overflow);
            w.Count(c.Count);
            foreach (var (key, count) in c.Items)
            {
                WriteKey(w, key);
                w.Long(count);
            }
        }

        var cooldowns = unsafeCooldown is null ? _lastAlerted.ToList() : _lastAlerted.Where(kv => !unsafeCooldown(kv.Key.Item1, kv.Key.Item2)).ToList();
        w.Count(cooldowns.Count);
        foreach (var ((feature, key), at) in cooldowns)
        {
            w.Byte((byte)feature);
            WriteKey(w, key);
            w.Time(at);
        }

        w.Count(_imageDigests.Count);
        foreach (var d in _imageDigests)
        {
            w.String(d);
        }

        foreach (var t in _acceptedUntil)
        {
            w.Time(t);
        }

        WriteStats(w, _cpu);
        WriteStats(w, _memory);
        w.Count(_containers.Count);
        foreach (var c in _containers)
        {
            w.String(c);
        }

        _runs.WriteState(w);
        _peerVolume.WriteState(w);
        _sessions.WriteState(w);
        _activity.WriteState(w);
        _peerRate.WriteState(w);
        w.Count(_directories.BusyByName.Count);
        foreach (var d in _directories.BusyByName)
        {
            w.String(d);
        }
    }

    /// <summary>A baseline as checkpointed; every count is bounded by this build's options, whatever the record says.</summary>
    internal static WorkloadBaseline ReadState(StateReader r, DetectionOptions options, Models.ModelMemoryBudget? memory = null)
    {
        var phase = r.Byte();
        if (!Enum.IsDefined((BaselinePhase)phase))
        {
            throw new CheckpointRejectedException($"unknown phase {phase}");
        }

        var b = new WorkloadBaseline(options, r.Time("first_seen"), memory)
        {
            Phase = (BaselinePhase)phase,
            LastSeen = r.Time("last_seen"),
            LearningSince = r.Time("learning_since"),
            ActiveSince = r.NullableTime("active_since"),
            ShadowSince = r.NullableTime("shadow_since"),
            EventsLearned = r.NonNegative("events_learned"),
            EventsScored = r.NonNegative("events_scored"),
            AlertsRaised = r.NonNegative("alerts_raised"),
            CooldownSuppressed = r.NonNegative("cooldown_suppressed"),
            AdaptedItems = r.NonNegative("adapted_items"),
            RelearnedFor = r.NullableString("relearned_for", 512),
            AdaptingTo = r.NullableString("adapting_to", 512),
            AdaptingUntil = r.Time("adapting_until"),
            WarmupUntil = r.Time("warmup_until"),
            ContainersWhileLearning = r.Count(int.MaxValue, "containers_while_learning"),
            ProvisionalClock = r.Bool(),
        };
        try
        {
            if ((b.Phase is BaselinePhase.Active or BaselinePhase.Shadow && b.ActiveSince is null) || (b.Phase == BaselinePhase.Shadow && b.ShadowSince is null))
            {
                throw new CheckpointRejectedException($"phase {b.Phase.ToWire()} without the time it began");
            }

            b._runBased = r.Byte() switch
            {
                0 => null,
                1 => false,
                2 => true,
                var x => throw new CheckpointRejectedException($"run_based {x}"),
            };

            var features = r.Count(FeatureCount, "features");
            for (var f = 0; f < features; f++)
            {
                var total = r.NonNegative("total");
                var overflow = r.NonNegative("overflow");
                var n = r.Count(options.MaxItemsPerFeature, $"{((Feature)f).ToWire()} items");
                var counter = new BoundedCounter(options.MaxItemsPerFeature, memory);
                b._counters[f].ReleaseMemory();
                b._counters[f] = counter;
                for (var i = 0; i < n; i++)
                {
                    var key = ReadKey(r);
                    var count = r.NonNegative("item count");
                    if (count == 0 || !counter.Restore(key, count))
                    {
                        throw new CheckpointRejectedException($"{((Feature)f).ToWire()}: item '{key}' repeated or with no count");
                    }
                }

                counter.RestoreTotals(Math.Max(total, counter.Total), overflow + counter.Overflow);
                if ((Feature)f == Feature.File)
                {
                    foreach (var (key, _) in counter.Items)
                    {
                        b._directories.Count(key.A);
                    }
                }
            }

            var cooldowns = r.Count(options.MaxItemsPerFeature, "cooldowns");
            for (var i = 0; i < cooldowns; i++)
            {
                var feature = r.Byte();
                if (feature >= FeatureCount)
                {
                    throw new CheckpointRejectedException($"cooldown of unknown feature {feature}");
                }

                var key = ReadKey(r);
                b._lastAlerted[((Feature)feature, key)] = r.Time("alerted_at");
            }

            var digests = r.Count(8, "image digests");
            for (var i = 0; i < digests; i++)
            {
                b._imageDigests.Add(r.String("image digest", 512));
            }

            for (var f = 0; f < FeatureCount; f++)
            {
                b._acceptedUntil[f] = r.Time("accepted_until");
            }

            b._cpu = ReadStats(r, "cpu");
            b._memory = ReadStats(r, "memory");
            var containers = r.Count(MaxSmallSet, "containers");
            for (var i = 0; i < containers; i++)
            {
                var id = r.String("container id", 512);
                if (b._knownContainers.Add(id))
                {
                    b._containers.Enqueue(id);
                }
            }

            b._runs.ReadState(r);
            b._peerVolume.ReadState(r);
            if (r.Format >= 2)
            {
                b._sessions.ReadState(r);
                b._activity.ReadState(r);
            }

            if (r.Format >= 3)
            {
                b._peerRate.ReadState(r);
            }

            if (r.Format >= 4)
            {
                var busy = r.Count(options.MaxItemsPerFeature, "busy_subtrees");
                for (var i = 0; i < busy; i++)
                {
                    b._directories.RestoreBusy(r.String("busy_subtree"));
                }
            }

            return b;
        }
        catch
        {
            // A record refused half-way gives back what its items reserved.
            b.ReleaseMemory();
            throw;
        }
    }

    private static void WriteKey(StateWriter w, in FeatureKey key)
    {
        w.String(key.A);
        w.NullableString(key.B);
        w.Int(key.N);
    }

    private static FeatureKey ReadKey(StateReader r) => new(r.String("item"), r.NullableString("item"), r.Int());

    private static void WriteStats(StateWriter w, in RunningStats s)
    {
        w.Long(s.Count);
        w.Double(s.Mean);
        w.Double(s.M2);
    }

    private static RunningStats ReadStats(StateReader r, string what)
    {
        var count = r.NonNegative(what + " samples");
        var mean = r.Double(what + " mean");
        var m2 = r.Double(what + " m2");
        return m2 >= 0 ? RunningStats.From(count, mean, m2) : throw new CheckpointRejectedException($"{what}: negative variance");
    }
}
