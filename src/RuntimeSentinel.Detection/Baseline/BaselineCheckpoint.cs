using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>The checkpoint form of a <see cref="WorkloadBaseline"/>: its clocks and phase, then its detectors' state in a fixed layout.</summary>
internal static class BaselineCheckpoint
{
    /// <summary>
    /// Where each detector's state sits in the record, by name and section, between the host's own parts: the layout of
    /// checkpoint formats 1 to 4, written before the detectors were split out of the baseline (so it interleaves
    /// them). A detector not listed here is written after the last of them, in registration order.
    /// </summary>
    private static readonly (string Name, int Section)[] Layout =
    [
        (NoveltyDetector.DetectorName, 0), (HostCooldowns, 0), (HostImages, 0), (ResourceDetector.DetectorName, 0), (HostContainers, 0),
        (RunHistoryDetector.DetectorName, 0), (PeerVolumeDetector.DetectorName, 0), (FailedSessionsDetector.DetectorName, 0),
        (ActivityProfileDetector.DetectorName, 0), (PeerRateDetector.DetectorName, 0), (NoveltyDetector.DetectorName, 1),
    ];

    private const string HostCooldowns = "(cooldowns)";
    private const string HostImages = "(images and verdicts)";
    private const string HostContainers = "(containers)";

    /// <param name="unsafeCooldown">Cooldowns of alerts not yet delivered or on disk: left out, so that replaying their
    /// events after a crash (their offsets are not committed) raises them again instead of finding them cooling down.</param>
    public static void Write(WorkloadBaseline b, StateWriter w, Func<Feature, FeatureKey, bool>? unsafeCooldown)
    {
        w.Byte((byte)b.Phase);
        w.Time(b.FirstSeen);
        w.Time(b.LastSeen);
        w.Time(b.LearningSince);
        w.NullableTime(b.ActiveSince);
        w.NullableTime(b.ShadowSince);
        w.Long(b.EventsLearned);
        w.Long(b.EventsScored);
        w.Long(b.AlertsRaised);
        w.Long(b.CooldownSuppressed);
        w.Long(b.AdaptedItems);
        w.NullableString(b.RelearnedFor);
        w.NullableString(b.AdaptingTo);
        w.Time(b.AdaptingUntil);
        w.Time(b.WarmupUntil);
        w.Count(b.ContainersWhileLearning);
        w.Bool(b.ProvisionalClock);
        w.Byte(b.RunBased switch { null => 0, false => 1, true => 2 });
        foreach (var (name, section) in Layout)
        {
            switch (name)
            {
                case HostCooldowns:
                    b.Context.Cooldowns.WriteState(w, unsafeCooldown);
                    break;
                case HostImages:
                    w.Count(b.ImageDigests.Count);
                    foreach (var d in b.ImageDigests)
                    {
                        w.String(d);
                    }

                    foreach (var t in b.Context.AcceptedUntil)
                    {
                        w.Time(t);
                    }

                    break;
                case HostContainers:
                    w.Count(b.Starts.Known.Count());
                    foreach (var c in b.Starts.Known)
                    {
                        w.String(c);
                    }

                    break;
                default:
                    Array.Find(b.AllDetectors, d => d.Name == name)?.WriteState(w, section);
                    break;
            }
        }

        foreach (var d in b.AllDetectors)
        {
            if (!Array.Exists(Layout, l => l.Name == d.Name))
            {
                d.WriteState(w, 0);
            }
        }
    }

    /// <summary>A baseline as checkpointed; every count is bounded by this build's options, whatever the record says.</summary>
    public static WorkloadBaseline Read(StateReader r, DetectionOptions options, Models.ModelMemoryBudget? memory, DetectorRegistry registry)
    {
        var phase = r.Byte();
        if (!Enum.IsDefined((BaselinePhase)phase))
        {
            throw new CheckpointRejectedException($"unknown phase {phase}");
        }

        var b = new WorkloadBaseline(options, r.Time("first_seen"), memory, registry)
        {
            Phase = (BaselinePhase)phase,
            LastSeen = r.Time("last_seen"),
            LearningSince = r.Time("learning_since"),
            ActiveSince = r.NullableTime("active_since"),
            ShadowSince = r.NullableTime("shadow_since"),
            EventsLearned = r.NonNegative("events_learned"),
            EventsScored = r.NonNegative("events_scored"),
            AlertsRaised = r.NonNegative("alerts_raised"),
        };
        b.Context.Cooldowns.Suppressed = r.NonNegative("cooldown_suppressed");
        b.AdaptedItems = r.NonNegative("adapted_items");
        b.RelearnedFor = r.NullableString("relearned_for", 512);
        b.AdaptingTo = r.NullableString("adapting_to", 512);
        b.AdaptingUntil = r.Time("adapting_until");
        b.Starts.WarmupUntil = r.Time("warmup_until");
        b.Starts.WhileLearning = r.Count(int.MaxValue, "containers_while_learning");
        b.ProvisionalClock = r.Bool();
        try
        {
            if ((b.Phase is BaselinePhase.Active or BaselinePhase.Shadow && b.ActiveSince is null) || (b.Phase == BaselinePhase.Shadow && b.ShadowSince is null))
            {
                throw new CheckpointRejectedException($"phase {b.Phase.ToWire()} without the time it began");
            }

            b.RunBased = r.Byte() switch
            {
                0 => null,
                1 => false,
                2 => true,
                var x => throw new CheckpointRejectedException($"run_based {x}"),
            };

            ReadDetectors(b, r);
            return b;
        }
        catch
        {
            // A record refused half-way gives back what its items reserved.
            b.ReleaseMemory();
            throw;
        }
    }

    private static void ReadDetectors(WorkloadBaseline b, StateReader r)
    {
        foreach (var (name, section) in Layout)
        {
            switch (name)
            {
                case HostCooldowns:
                    b.Context.Cooldowns.ReadState(r);
                    break;
                case HostImages:
                    var digests = r.Count(8, "image digests");
                    for (var i = 0; i < digests; i++)
                    {
                        b.ImageDigests.Add(r.String("image digest", 512));
                    }

                    for (var f = 0; f < b.Context.AcceptedUntil.Length; f++)
                    {
                        b.Context.AcceptedUntil[f] = r.Time("accepted_until");
                    }

                    break;
                case HostContainers:
                    var containers = r.Count(ContainerStarts.MaxContainers, "containers");
                    for (var i = 0; i < containers; i++)
                    {
                        b.Starts.Restore(r.String("container id", 512));
                    }

                    break;
                default:
                    Array.Find(b.AllDetectors, d => d.Name == name)?.ReadState(r, section);
                    break;
            }
        }

        foreach (var d in b.AllDetectors)
        {
            if (!Array.Exists(Layout, l => l.Name == d.Name))
            {
                d.ReadState(r, 0);
            }
        }
    }
}
