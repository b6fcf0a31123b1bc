using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>A candidate alert from one event: which feature, how surprising, and why it matters.</summary>
public readonly record struct Finding(
    Feature Feature,
    FeatureKey Item,
    string Category,
    Severity Severity,
    double Score,
    double Threshold,
    long LearnedCount,
    long LearnedTotal,
    string Reason,
    string? Catalogue = null);

/// <summary>
/// What observing one event changed in a baseline (items learned, items a cap refused, the phase before and after),
/// returned to the caller to count and log: the baseline calls nobody back.
/// </summary>
public struct BaselineChanges(BaselinePhase from)
{
    private FeatureCounts _learned;
    private FeatureCounts _exceeded;

    public BaselinePhase From { get; } = from;

    public BaselinePhase To { get; internal set; } = from;

    public readonly bool PhaseChanged => From != To;

    /// <summary>Whether anything was learned or refused (the common steady-state event changes nothing).</summary>
    public bool Any { readonly get; private set; }

    public readonly int Learned(Feature f) => _learned[(int)f];

    public readonly int Exceeded(Feature f) => _exceeded[(int)f];

    internal void ItemLearned(Feature f)
    {
        _learned[(int)f]++;
        Any = true;
    }

    internal void CapacityExceeded(Feature f)
    {
        _exceeded[(int)f]++;
        Any = true;
    }

    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct FeatureCounts
    {
        private byte _first;
    }
}

/// <summary>
/// The behaviour baseline of one workload: counts of every executable (and its parent), syscall, normalised file
/// path, outbound endpoint, DNS name and listening port seen while learning, plus running CPU and memory
/// statistics. After learning it scores each event's items by surprisal against those counts.
/// Owned by exactly one detection shard, so it needs no locks.
/// </summary>
public sealed partial class WorkloadBaseline
{
    private static readonly int FeatureCount = Enum.GetValues<Feature>().Length;

    private readonly BoundedCounter[] _counters;
    private readonly DetectionOptions _options;
    private readonly Dictionary<(Feature, FeatureKey), DateTimeOffset> _lastAlerted = new();

    // Distinct learned file names per directory (bounded like the features), keyed without allocating a substring.
    private readonly DirectoryShapes _directories;
    private readonly HashSet<string> _imageDigests = new(StringComparer.Ordinal);
    private readonly DateTimeOffset[] _acceptedUntil = new DateTimeOffset[FeatureCount];
    private RunningStats _cpu;
    private RunningStats _memory;

    private readonly Models.ModelMemoryBudget? _budget;

    // Not checkpointed: a session lasts minutes, and a restart mid-session at worst raises its later findings without
    // the earlier, held ones (or drops a diagnosis's), which is what a session never seen to open looks like anyway.
    private readonly ExecSessions _execs = new();

    /// <summary>Sessions opened into a running container that stayed within diagnosis (see <see cref="ExecSessions"/>).</summary>
    public long ExecSessionsDiagnosed => _execs.Diagnosed;

    /// <summary>Sessions whose held findings were raised because one went beyond diagnosis.</summary>
    public long ExecSessionsEscalated => _execs.Escalated;

    /// <summary>Findings of diagnostic sessions that were never raised.</summary>
    public long ExecFindingsDropped => _execs.FindingsDropped;

    /// <summary>A session within diagnosis is open or just ended: the behaviour windows count its processes and files.</summary>
    public bool InExecDiagnosis(DateTimeOffset now) => _execs.InDiagnosis(now);

    /// <param name="memory">The node's memory budget, from which every learned item reserves its bytes.</param>
    public WorkloadBaseline(DetectionOptions options, DateTimeOffset firstSeen, Models.ModelMemoryBudget? memory = null)
    {
        _options = options;
        _budget = memory;
        _directories = new DirectoryShapes(options.MaxItemsPerFeature, options.DirectoryWildcardThreshold);
        _peerVolume = new PeerVolume(options.MaxItemsPerFeature, memory);
        _peerRate = new PeerRate(options.MaxItemsPerFeature, memory);
        _sessions = new PeerSessions(options.MaxItemsPerFeature, memory);
        _activity = new ActivityProfile(options.ActivityCycle, options.ActivitySlots);
        FirstSeen = firstSeen;
        LastSeen = firstSeen;
        LearningSince = firstSeen;
        _counters = new BoundedCounter[FeatureCount];
        for (var i = 0; i < _counters.Length; i++)
        {
            _counters[i] = new BoundedCounter(options.MaxItemsPerFeature, memory);
        }
    }

    /// <summary>Gives the learned items' memory back to the node's budget (the baseline is being dropped).</summary>
    public void ReleaseMemory()
    {
        foreach (var c in _counters)
        {
            c.ReleaseMemory();
        }

        _peerVolume.Clear();
        _peerRate.Clear();
        _sessions.Clear();
    }

    public BaselinePhase Phase { get; private set; } = BaselinePhase.Learning;

    public DateTimeOffset FirstSeen { get; private set; }

    public DateTimeOffset LastSeen { get; private set; }

    public DateTimeOffset? ActiveSince { get; private set; }

    public long EventsLearned { get; private set; }

    public long EventsScored { get; private set; }

    /// <summary>Alerts raised for this workload (maintained by its shard).</summary>
    public long AlertsRaised { get; set; }

    /// <summary>Largest score-minus-threshold of the last scored event, NaN when it had nothing to score.</summary>
    public double LastScoreMargin { get; private set; } = double.NaN;

    /// <summary>Findings not reported because the same item alerted within the cooldown.</summary>
    public long CooldownSuppressed { get; private set; }

    /// <summary>Items whose last alert time is kept for the cooldown; bounded by <see cref="DetectionOptions.MaxItemsPerFeature"/> (tests).</summary>
    internal int CooldownEntries => _lastAlerted.Count;

    public BoundedCounter Counter(Feature f) => _counters[(int)f];

    /// <summary>
    /// Takes an analyst's verdict in: the item is learned (and its cooldown cleared), or with no item the feature
    /// accepts new items silently from now on. Either way the same behaviour no longer alerts.
    /// </summary>
    /// <param name="acceptUntil">With no item: until when every new item of the feature is learned silently (a
    /// verdict for a whole feature always expires, so one message cannot switch a detector off for good).</param>
    public void Absorb(Feature feature, FeatureKey? item, DateTimeOffset acceptUntil = default)
    {
        if (item is { } key && feature == Feature.Exec && key.B is { } parent)
        {
            // An accepted executable with its parent: accept the binary and that lineage.
            Absorb(Feature.Exec, new FeatureKey(key.A));
            Absorb(Feature.Lineage, new FeatureKey(key.A, parent));
        }
        else if (item is { } k)
        {
            _counters[(int)feature].Add(k);
            _lastAlerted.Remove((feature, k));
        }
        else if (acceptUntil > _acceptedUntil[(int)feature])
        {
            _acceptedUntil[(int)feature] = acceptUntil;
        }
    }

    /// <summary>
    /// Whether the last observed event's main item (executable, file, endpoint) was known before it: what the
    /// models' new-item ratios count, found by the lookup the baseline does anyway. True for other kinds.
    /// </summary>
    public bool LastEventKnown { get; private set; }

    /// <summary>Whether the baseline already knows the event's main item (executable, file, endpoint); true for other kinds.</summary>
    public bool Knows(in RuntimeEvent e, string? normalizedPath, string? peer = null) => e.Kind switch
    {
        EventKind.ProcessExec when e.Process.Exe is { } exe => _counters[(int)Feature.Exec].CountOf(new FeatureKey(exe)) > 0,
        EventKind.FileOpen when normalizedPath is not null => _counters[(int)Feature.File].CountOf(new FeatureKey(normalizedPath)) > 0,
        EventKind.NetConnect when e.Net.RemoteIp is not null => _counters[(int)Feature.Endpoint].CountOf(EndpointKey(e, peer)) > 0,
        _ => true,
    };

    /// <summary>
    /// What an outbound connection is learned and scored as: the peer's identity (a workload, a DNS name, a network;
    /// the raw address only when nothing better is known), the protocol and the service port. An ephemeral port is
    /// never part of it: it names a connection, not a service.
    /// </summary>
    public FeatureKey EndpointKey(in RuntimeEvent e, string? peer)
    {
        var port = e.Net.RemotePort;
        var n = _options.Network;
        if (port >= n.EphemeralPortFirst && port <= n.EphemeralPortLast)
        {
            port = -1;
        }

        return new FeatureKey(peer ?? e.Net.RemoteIp ?? "?", e.Net.Protocol ?? "tcp", port);
    }

    private bool IsEphemeral(int port) => port >= _options.Network.EphemeralPortFirst && port <= _options.Network.EphemeralPortLast;

    public bool Accepts(Feature feature, DateTimeOffset now) => now < _acceptedUntil[(int)feature];

    public BaselineState State(DateTimeOffset now) => new(Phase, now - FirstSeen, EventsLearned, ActiveSince);

    /// <summary>When the current learning period (first, or after an image change) began.</summary>
    public DateTimeOffset LearningSince { get; private set; }

    public DateTimeOffset? ShadowSince { get; private set; }

    /// <summary>Image digest that started the current relearning, if any.</summary>
    public string? RelearnedFor { get; private set; }

    private BaselineChanges _changes;

    /// <summary>Learns from or scores one event; findings (only in the active phase) are appended to <paramref name="findings"/>.</summary>
    /// <param name="peer">For network events, the identity of the remote peer (<see cref="Core.Workloads.PeerResolver"/>); null: its address.</param>
    /// <returns>What the event changed: items learned or refused, and the phase before and after it.</returns>
    public BaselineChanges Observe(in RuntimeEvent e, string? normalizedPath, DateTimeOffset now, List<Finding> findings, string? peer = null)
    {
        _changes = new BaselineChanges(Phase);
        ObserveCore(e, normalizedPath, now, findings, peer);
        _changes.To = Phase;
        return _changes;
    }

    private void ObserveCore(in RuntimeEvent e, string? normalizedPath, DateTimeOffset now, List<Finding> findings, string? peer)
    {
        LastSeen = now;
        LastEventKnown = true;
        var inventory = e.Labels[EventLabels.Inventory] is not null;
        NoteContainer(e.Workload.ContainerId, now, inventory);
        _runBased ??= e.Workload.OwnerKind is "Job" or "CronJob";
        var run = _runBased == true ? _runs.Observe(e, now) : null;
        if (e.Kind is EventKind.ProcessExit or EventKind.ProcessExec && !inventory && e.Labels[EventLabels.ContainerInit] is not null)
        {
            NoteEntrypoint(now);
        }

        if (e.Workload.ImageDigest is { } digest && IsNewImage(digest) && Phase is BaselinePhase.Active or BaselinePhase.Shadow)
        {
            if (_options.AdaptationPeriod > TimeSpan.Zero)
            {
                // A rollout keeps what was learned: what the new version does that the old one did stays known, its own
                // new items are learned for a while, and high-risk findings alert throughout.
                AdaptingTo = digest;
                AdaptingUntil = now + _options.AdaptationPeriod;
            }
            else
            {
                Relearn(digest, now);
            }
        }

        if (Added == Workloads.AddedContainer.Ephemeral && !_addedRaised)
        {
            // Judged from its first event: the container itself is the finding, whatever it goes on to do.
            _addedRaised = true;
            findings.Add(new Finding(Feature.Resource, new FeatureKey("ephemeral:" + e.Workload.Container), AlertCategories.ContainerAdded, Severity.High, 1, 0, 0, 0, _addedNote!, "ephemeral_container"));
        }

        switch (Phase)
        {
            case BaselinePhase.Learning or BaselinePhase.Stale:
                // What a sensor's inventory found running when it started is how the workload was running before anyone
                // watched: learned, catalogue or not (a shell npm keeps under node is the start-up a restart repeats).
                if (inventory
                    || !((Added == Workloads.AddedContainer.Ephemeral && SuspiciousCatalogue.TryMatchEphemeral(e, out var match)) || SuspiciousCatalogue.TryMatch(e, normalizedPath, out match))
                    || !RaiseWhileLearning(match, now, findings))
                {
                    Learn(e, normalizedPath, peer);
                    if (e.Net.BytesOut > 0)
                    {
                        _peerVolume.Observe(e, peer, now, learning: true, out _, out _);
                    }

                    _sessions.Observe(e, peer, now, learning: true, out _, out _);
                    _peerRate.Observe(e, peer, now, learning: true, out _, out _, out _);
                    _activity.Observe(e, now, learning: true, out _, out _, LearningSince);
                }

                EventsLearned++;
                if ((now - LearningSince >= _options.LearningDuration && EventsLearned >= _options.MinLearningEvents)
                    || (_runBased == true && _runs.FinishedRuns >= _options.MinLearningRuns))
                {
                    ActiveSince = now;
                    if (_options.Models.Enabled && _options.Models.ShadowDuration > TimeSpan.Zero)
                    {
                        Phase = BaselinePhase.Shadow;
                        ShadowSince = now;
                    }
                    else
                    {
                        Phase = BaselinePhase.Active;
                    }
                }

                return;
            case BaselinePhase.Shadow when now - ShadowSince >= _options.Models.ShadowDuration:
                Phase = BaselinePhase.Active;
                break;
        }

        // Shadow holds back the model detectors only (their thresholds are being confirmed); item novelty needs no
        // confirmation and alerts from the end of learning.
        EventsScored++;
        LastScoreMargin = double.NaN;
        var before = findings.Count;
        _execs.Track(e, IsSessionRoot(e), now);
        Score(e, normalizedPath, peer, now, findings);
        if (run is not null)
        {
            ScoreRun(run, now, findings);
        }

        if (e.Net.BytesOut > 0 && _peerVolume.Observe(e, peer, now, learning: false, out var minuteBytes, out var learnedMax) && !Accepts(Feature.Resource, now))
        {
            var who = peer ?? e.Net.RemoteIp!;
            var ratio = minuteBytes / (double)Math.Max(1, learnedMax);
            findings.Add(new Finding(
                Feature.Resource, new FeatureKey("peer:" + who), AlertCategories.PeerVolume, ratio >= 20 ? Severity.High : Severity.Medium, ratio, PeerVolume.Factor, learnedMax, _peerVolume.Count,
                $"{minuteBytes:N0} bytes to {who} within a minute; the most it was sent in a minute while learning was {learnedMax:N0}"));
        }

        if (e.Kind is EventKind.NetConnect or EventKind.NetAccept && _peerRate.Observe(e, peer, now, learning: false, out var inbound, out var minuteCount, out var learnedRate) && !Accepts(Feature.Resource, now))
        {
            var who = peer ?? e.Net.RemoteIp!;
            var ratio = minuteCount / (double)Math.Max(1, learnedRate);
            findings.Add(new Finding(
                Feature.Resource, new FeatureKey((inbound ? "rate:in:" : "rate:out:") + who), AlertCategories.PeerRate, ratio >= 30 ? Severity.High : Severity.Medium, ratio, PeerRate.Factor, learnedRate, _peerRate.Count,
                inbound
                    ? $"{minuteCount:N0} connections from {who} accepted within a minute; the most in a minute while learning was {learnedRate:N0}"
                    : $"{minuteCount:N0} connections to {who} within a minute; the most in a minute while learning was {learnedRate:N0}"));
        }

        ScoreSessionsAndActivity(e, peer, now, findings);
        _execs.Judge(e, findings, before, now);
        if (_execs.Dropped.Count > 0)
        {
            // A diagnosis that raised nothing must not silence the same item from someone else for the cooldown.
            foreach (var f in _execs.Dropped)
            {
                _lastAlerted.Remove((f.Feature, f.Item));
            }

            _execs.ClearDropped();
        }
        if (findings.Count > before && IsAdapting(now))
        {
            AdaptFindings(findings, before);
        }
        else if (findings.Count > before && WarmingUp(now))
        {
            LearnStartup(e, normalizedPath, findings, before);
        }
    }

    /// <summary>
    /// The exec of a process the container runtime started inside a running container that is not its entrypoint (PID 1):
    /// <c>kubectl exec</c>, <c>crictl exec</c>, an exec probe. Not a sensor's inventory of what was already running.
    /// </summary>
    private static bool IsSessionRoot(in RuntimeEvent e)
    {
        if (e.Kind != EventKind.ProcessExec || e.Process.ParentExe is not { } parent || e.Labels[EventLabels.ContainerInit] is not null || e.Labels[EventLabels.Inventory] is not null)
        {
            return false;
        }

        var name = parent.AsSpan(parent.LastIndexOf('/') + 1);
        return name.StartsWith("runc", StringComparison.Ordinal) || name.StartsWith("containerd-shim", StringComparison.Ordinal) || name is "crun" or "conmon";
    }

    /// <summary>How this workload's container appeared, when it appeared in an active workload (see <see cref="MarkAdded"/>).</summary>
    public Workloads.AddedContainer Added { get; private set; }

    private string? _addedNote;
    private bool _addedRaised;

    /// <summary>
    /// This is a container new to an active workload (the shard saw its owner's other container active): an ephemeral one
    /// is raised at its first event and every shell or tool it runs is told; one in a new pod learns as usual.
    /// </summary>
    public void MarkAdded(Workloads.AddedContainer how, in WorkloadRef w, string sibling)
    {
        Added = how;
        _addedNote = how == Workloads.AddedContainer.Ephemeral
            ? $"container '{w.Container}' (image {w.Image ?? "unknown"}) added to the running pod {w.Pod} beside '{sibling}': only an ephemeral container (kubectl debug) can join a running pod"
            : $"container '{w.Container}' (image {w.Image ?? "unknown"}) is new to this workload, whose pods ran '{sibling}': an added or injected sidecar, or an init container never seen start";
    }

    private readonly RunHistory _runs = new();
    private readonly PeerVolume _peerVolume;
    private readonly PeerRate _peerRate;
    private readonly PeerSessions _sessions;
    private readonly ActivityProfile _activity;

    private bool? _runBased;

    /// <summary>Runs (pods) of a CronJob or Job finished since it began learning; such a workload learns across runs.</summary>
    public long RunsFinished => _runs.FinishedRuns;

    internal static string NormalizeDns(string name)
    {
        var n = name.EndsWith('.') ? name[..^1] : name;
        return n.Any(char.IsAsciiLetterUpper) ? n.ToLowerInvariant() : n;
    }
}
