using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// The behaviour baseline of one workload: the host of its detectors (<see cref="IEventDetector"/>: item novelty,
/// resources, runs, per-peer volume, rate and failed sessions, the day's profile). It runs the phase machine
/// (learning → shadow → active, stale after a new image), follows containers starting and rollouts, hands each event
/// to its detectors to learn or score, and adjusts what they found (exec sessions, adaptation, warm-up).
/// Owned by exactly one detection shard, so it needs no locks.
/// </summary>
public sealed class WorkloadBaseline
{
    private readonly DetectionOptions _options;
    private readonly DetectorContext _ctx;

    // Every registered detector (the checkpoint's layout), and those the configuration leaves on (the event's path).
    private readonly IEventDetector[] _detectors;
    private IEventDetector[] _enabled;
    private IEventDetector[] _trackers;
    private readonly NoveltyDetector _novelty;
    private readonly RunHistoryDetector? _runs;

    private readonly HashSet<string> _imageDigests = new(StringComparer.Ordinal);
    private readonly ContainerStarts _starts;

    // Not checkpointed: a session lasts minutes, and a restart mid-session at worst raises its later findings without
    // the earlier, held ones (or drops a diagnosis's), which is what a session never seen to open looks like anyway.
    private readonly ExecSessions _execs = new();

    private string? _addedNote;
    private bool _addedRaised;
    private bool? _runBased;

    /// <param name="memory">The node's memory budget, from which every learned item reserves its bytes.</param>
    public WorkloadBaseline(DetectionOptions options, DateTimeOffset firstSeen, Models.ModelMemoryBudget? memory = null)
        : this(options, firstSeen, memory, DetectorRegistry.Default)
    {
    }

    internal WorkloadBaseline(DetectionOptions options, DateTimeOffset firstSeen, Models.ModelMemoryBudget? memory, DetectorRegistry registry)
    {
        _options = options;
        _ctx = new DetectorContext(options, memory);
        _starts = new ContainerStarts(options);
        _detectors = registry.CreateEventDetectors(options, memory);
        _enabled = Array.FindAll(_detectors, d => !options.DisabledDetectors.Contains(d.Name, StringComparer.Ordinal));
        _trackers = Array.FindAll(_enabled, d => d.Tracks);

        _novelty = _detectors.OfType<NoveltyDetector>().Single();
        _runs = _detectors.OfType<RunHistoryDetector>().SingleOrDefault();
        FirstSeen = firstSeen;
        LastSeen = firstSeen;
        LearningSince = firstSeen;
    }

    /// <summary>
    /// Narrows the detectors to those the workload's classes (<see cref="DetectionOptions.DetectorClasses"/>) leave on;
    /// the others keep their place, empty, in the checkpoint. Called once the workload's key is known, before its first event.
    /// </summary>
    internal void SelectFor(Core.Workloads.WorkloadKey key)
    {
        var off = DetectorSwitches.Off(_options, key);
        if (off.Count > 0)
        {
            _enabled = Array.FindAll(_enabled, d => !off.Contains(d.Name));
            _trackers = Array.FindAll(_enabled, d => d.Tracks);
        }
    }

    internal DetectionOptions Options => _options;

    /// <summary>The shared context, the detectors, the images and containers seen: for <see cref="BaselineCheckpoint"/>.</summary>
    internal DetectorContext Context => _ctx;

    internal IEventDetector[] AllDetectors => _detectors;

    internal HashSet<string> ImageDigests => _imageDigests;

    internal ContainerStarts Starts => _starts;

    internal bool? RunBased
    {
        get => _runBased;
        set => _runBased = value;
    }

    /// <param name="unsafeCooldown">Cooldowns of alerts not yet delivered or on disk: left out, so that replaying their
    /// events after a crash (their offsets are not committed) raises them again instead of finding them cooling down.</param>
    internal void WriteState(Workloads.StateWriter w, Func<Feature, FeatureKey, bool>? unsafeCooldown = null) => BaselineCheckpoint.Write(this, w, unsafeCooldown);

    /// <summary>A baseline as checkpointed; every count is bounded by this build's options, whatever the record says.</summary>
    internal static WorkloadBaseline ReadState(Workloads.StateReader r, DetectionOptions options, Models.ModelMemoryBudget? memory = null, DetectorRegistry? registry = null) =>
        BaselineCheckpoint.Read(r, options, memory, registry ?? DetectorRegistry.Default);

    /// <summary>The names of the detectors that learn and score this workload's events, in their order.</summary>
    internal IEnumerable<string> Detectors => _enabled.Select(d => d.Name);

    /// <summary>Gives the learned items' memory back to the node's budget (the baseline is being dropped).</summary>
    public void ReleaseMemory()
    {
        foreach (var d in _detectors)
        {
            d.Reset(DetectorReset.Release);
        }
    }

    public BaselinePhase Phase { get; internal set; } = BaselinePhase.Learning;

    public DateTimeOffset FirstSeen { get; internal set; }

    public DateTimeOffset LastSeen { get; internal set; }

    public DateTimeOffset? ActiveSince { get; internal set; }

    public long EventsLearned { get; internal set; }

    public long EventsScored { get; internal set; }

    /// <summary>Alerts raised for this workload (maintained by its shard).</summary>
    public long AlertsRaised { get; set; }

    /// <summary>Largest score-minus-threshold of the last scored event, NaN when it had nothing to score.</summary>
    public double LastScoreMargin => _ctx.ScoreMargin;

    /// <summary>Findings not reported because the same item alerted within the cooldown.</summary>
    public long CooldownSuppressed => _ctx.Cooldowns.Suppressed;

    /// <summary>Items whose last alert time is kept for the cooldown; bounded by <see cref="DetectionOptions.MaxItemsPerFeature"/> (tests).</summary>
    internal int CooldownEntries => _ctx.Cooldowns.Count;

    /// <summary>Sessions opened into a running container that stayed within diagnosis (see <see cref="ExecSessions"/>).</summary>
    public long ExecSessionsDiagnosed => _execs.Diagnosed;

    /// <summary>Sessions whose held findings were raised because one went beyond diagnosis.</summary>
    public long ExecSessionsEscalated => _execs.Escalated;

    /// <summary>Findings of diagnostic sessions that were never raised.</summary>
    public long ExecFindingsDropped => _execs.FindingsDropped;

    /// <summary>A session within diagnosis is open or just ended: the behaviour windows count its processes and files.</summary>
    public bool InExecDiagnosis(DateTimeOffset now) => _execs.InDiagnosis(now);

    /// <summary>Runs (pods) of a CronJob or Job finished since it began learning; such a workload learns across runs.</summary>
    public long RunsFinished => _runs?.FinishedRuns ?? 0;

    public BoundedCounter Counter(Feature f) => _novelty.Counter(f);

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
            _novelty.Counter(feature).Add(k);
            _ctx.Cooldowns.Remove(feature, k);
        }
        else if (acceptUntil > _ctx.AcceptedUntil[(int)feature])
        {
            _ctx.AcceptedUntil[(int)feature] = acceptUntil;
        }
    }

    /// <summary>
    /// Whether the last observed event's main item (executable, file, endpoint) was known before it: what the
    /// models' new-item ratios count, found by the lookup the baseline does anyway. True for other kinds.
    /// </summary>
    public bool LastEventKnown => _ctx.LastEventKnown;

    /// <summary>Whether the baseline already knows the event's main item (executable, file, endpoint); true for other kinds.</summary>
    public bool Knows(in RuntimeEvent e, string? normalizedPath, string? peer = null) => _novelty.Knows(e, normalizedPath, peer);

    /// <summary>
    /// What an outbound connection is learned and scored as: the peer's identity (a workload, a DNS name, a network;
    /// the raw address only when nothing better is known), the protocol and the service port. An ephemeral port is
    /// never part of it: it names a connection, not a service.
    /// </summary>
    public FeatureKey EndpointKey(in RuntimeEvent e, string? peer) => _novelty.EndpointKey(e, peer);

    public bool Accepts(Feature feature, DateTimeOffset now) => now < _ctx.AcceptedUntil[(int)feature];

    public BaselineState State(DateTimeOffset now) => new(Phase, now - FirstSeen, EventsLearned, ActiveSince);

    /// <summary>When the current learning period (first, or after an image change) began.</summary>
    public DateTimeOffset LearningSince { get; internal set; }

    public DateTimeOffset? ShadowSince { get; internal set; }

    /// <summary>Image digest that started the current relearning, if any.</summary>
    public string? RelearnedFor { get; internal set; }

    /// <summary>Learns from or scores one event; findings (only in the active phase) are appended to <paramref name="findings"/>.</summary>
    /// <param name="peer">For network events, the identity of the remote peer (<see cref="Core.Workloads.PeerResolver"/>); null: its address.</param>
    /// <returns>What the event changed: items learned or refused, and the phase before and after it.</returns>
    public BaselineChanges Observe(in RuntimeEvent e, string? normalizedPath, DateTimeOffset now, List<Finding> findings, string? peer = null)
    {
        _ctx.Changes = new BaselineChanges(Phase);
        ObserveCore(e, normalizedPath, now, findings, peer);
        _ctx.Changes.To = Phase;
        return _ctx.Changes;
    }

    private void ObserveCore(in RuntimeEvent e, string? normalizedPath, DateTimeOffset now, List<Finding> findings, string? peer)
    {
        LastSeen = now;
        _ctx.LastEventKnown = true;
        _ctx.Now = now;
        _ctx.Path = normalizedPath;
        _ctx.Peer = peer;
        var inventory = e.Labels[EventLabels.Inventory] is not null;
        _starts.Note(e.Workload.ContainerId, now, inventory, Phase is BaselinePhase.Learning or BaselinePhase.Stale, LearningSince);
        _runBased ??= RunRecorder.IsRunBased(e);
        _ctx.RunBased = _runBased == true;
        foreach (var d in _trackers)
        {
            d.Track(e, _ctx);
        }

        if (e.Kind is EventKind.ProcessExit or EventKind.ProcessExec && !inventory && e.Labels[EventLabels.ContainerInit] is not null)
        {
            // A container's entrypoint (its PID 1, as the sensor reports it) runs when the container starts and exits when
            // it stops (a rollout, a replacement, a scale-down, a restart): those windows are unlike steady state. The
            // entrypoint's exec is the start even when the container was already known: a sensor can report a container's
            // first kprobes before its exec (two ring buffers), and a StatefulSet's pod comes back under the same name. The
            // parent alone cannot tell: exec probes and kubectl exec are children of the runtime too, but never PID 1.
            _starts.NoteEntrypoint(now, Phase is BaselinePhase.Learning or BaselinePhase.Stale);
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
            findings.Add(Finding.OfItem(Feature.Resource, new FeatureKey("ephemeral:" + e.Workload.Container), AlertCategories.ContainerAdded, Severity.High, 1, 0, 0, 0, _addedNote!, "ephemeral_container"));
        }

        _ctx.LearningSince = LearningSince;
        _ctx.Added = Added;
        switch (Phase)
        {
            case BaselinePhase.Learning or BaselinePhase.Stale:
                // What a sensor's inventory found running when it started is how the workload was running before anyone
                // watched: learned, catalogue or not (a shell npm keeps under node is the start-up a restart repeats).
                if (inventory || !Withheld(e, findings))
                {
                    foreach (var d in _enabled)
                    {
                        d.Learn(e, _ctx);
                    }
                }

                EventsLearned++;
                if ((now - LearningSince >= _options.LearningDuration && EventsLearned >= _options.MinLearningEvents) || LearnedEnough())
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
        _ctx.ScoreMargin = double.NaN;
        _ctx.WarmingUp = WarmingUp(now);
        _ctx.Adapting = IsAdapting(now);
        var before = findings.Count;
        _execs.Track(e, IsSessionRoot(e), now);
        foreach (var d in _enabled)
        {
            d.Score(e, _ctx, findings);
        }

        _execs.Judge(e, findings, before, now);
        if (_execs.Dropped.Count > 0)
        {
            // A diagnosis that raised nothing must not silence the same item from someone else for the cooldown.
            foreach (var f in _execs.Dropped)
            {
                if (f.Feature is { } feature)
                {
                    _ctx.Cooldowns.Remove(feature, f.Item);
                }
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

    private bool Withheld(in RuntimeEvent e, List<Finding> findings)
    {
        foreach (var d in _enabled)
        {
            if (d.Withhold(e, _ctx, findings))
            {
                return true;
            }
        }

        return false;
    }

    private bool LearnedEnough()
    {
        foreach (var d in _enabled)
        {
            if (d.LearnedEnough(_ctx))
            {
                return true;
            }
        }

        return false;
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
    internal Workloads.AddedContainer Added { get; private set; }

    /// <summary>
    /// This is a container new to an active workload (the shard saw its owner's other container active): an ephemeral one
    /// is raised at its first event and every shell or tool it runs is told; one in a new pod learns as usual.
    /// </summary>
    internal void MarkAdded(Workloads.AddedContainer how, in WorkloadRef w, string sibling)
    {
        Added = how;
        _addedNote = how == Workloads.AddedContainer.Ephemeral
            ? $"container '{w.Container}' (image {w.Image ?? "unknown"}) added to the running pod {w.Pod} beside '{sibling}': only an ephemeral container (kubectl debug) can join a running pod"
            : $"container '{w.Container}' (image {w.Image ?? "unknown"}) is new to this workload, whose pods ran '{sibling}': an added or injected sidecar, or an init container never seen start";
    }

    /// <summary>
    /// Containers that started while the workload learned: three or more mean starts are its normal. Those met in the
    /// first <see cref="DetectionOptions.WarmupPeriod"/> of learning, or only in a sensor's inventory, were already
    /// running (three replicas found at start-up are no three starts).
    /// </summary>
    public int ContainersWhileLearning => _starts.WhileLearning;

    /// <summary>Until when a container that started after learning warms up (see <see cref="WarmingUp"/>).</summary>
    public DateTimeOffset WarmupUntil => _starts.WarmupUntil;

    /// <summary>
    /// True while a replica, restart or rollout of the workload is starting: its first windows (entrypoints, caches,
    /// connection pools) are unlike steady state, so the behaviour models do not judge them. Item novelty still does.
    /// </summary>
    public bool WarmingUp(DateTimeOffset now) => now < WarmupUntil;

    /// <summary>The image the workload is adapting to after a rollout, while <see cref="AdaptingUntil"/> lasts.</summary>
    public string? AdaptingTo { get; internal set; }

    public DateTimeOffset AdaptingUntil { get; internal set; }

    public bool IsAdapting(DateTimeOffset now) => AdaptingTo is not null && now < AdaptingUntil;

    /// <summary>
    /// While adapting to a new image, a novel item below high severity is the new version's normal: it is learned, not
    /// raised. High and critical findings (shells under servers, credential files, miners, /tmp executables, new
    /// external peers...) still alert, and say the workload is adapting.
    /// </summary>
    private void AdaptFindings(List<Finding> findings, int from)
    {
        for (var i = findings.Count - 1; i >= from; i--)
        {
            var f = findings[i];
            if (f.Severity >= Severity.High)
            {
                findings[i] = f with { Reason = $"{f.Reason}; workload adapting to image {ShortDigest(AdaptingTo!)}" };
                continue;
            }

            if (f.Feature != Feature.Resource)
            {
                LearnItem(f);
            }

            AdaptedItems++;
            findings.RemoveAt(i);
        }
    }

    /// <summary>
    /// A container of an image the workload already runs is starting (a restart, a reschedule, a drain, a new replica):
    /// a daemon started into a running cluster never saw its containers start, so their entrypoint, the configuration it
    /// reads or templates and the runtime as a parent are new the first time. What the catalogue flags still alerts (a
    /// miner, a shell under a server, a credential file, an escape), and so does anything critical or on the network;
    /// processes, files, syscalls and listening ports are learned as the workload's start-up instead of paged.
    /// </summary>
    private void LearnStartup(in RuntimeEvent e, string? normalizedPath, List<Finding> findings, int from)
    {
        if (SuspiciousCatalogue.TryMatch(e, normalizedPath, out _))
        {
            return;
        }

        for (var i = findings.Count - 1; i >= from; i--)
        {
            var f = findings[i];
            if (f.Severity >= Severity.Critical || f.Feature is not (Feature.Exec or Feature.Lineage or Feature.File or Feature.Syscall or Feature.ListenPort))
            {
                continue;
            }

            LearnItem(f);
            StartupLearned++;
            findings.RemoveAt(i);
        }
    }

    /// <summary>Learns a finding's item instead of raising it (an executable with its lineage).</summary>
    private void LearnItem(in Finding f)
    {
        if (f.Feature is not { } feature)
        {
            return;
        }

        _novelty.Add(feature, f.Item, _ctx);
        if (f.Feature == Feature.Exec && f.Item.B is { } parent)
        {
            _novelty.Add(Feature.Lineage, new FeatureKey(f.Item.A, parent), _ctx);
        }
    }

    /// <summary>Items learned as a container's start-up (see <see cref="LearnStartup"/>) instead of alerting.</summary>
    public long StartupLearned { get; private set; }

    /// <summary>Items learned silently while adapting to a new image (instead of alerting).</summary>
    public long AdaptedItems { get; internal set; }

    private static string ShortDigest(string digest) => digest.Length > 19 ? digest[..19] : digest;

    /// <summary>
    /// True while the baseline's clock comes only from inventory events (processes found running when the sensor
    /// started, stamped with their old start times): the first live event restarts it.
    /// </summary>
    public bool ProvisionalClock { get; set; }

    /// <summary>Restarts the learning clock at the first live event (see <see cref="ProvisionalClock"/>).</summary>
    public void RestartClock(DateTimeOffset now)
    {
        FirstSeen = now;
        LearningSince = now;
        LastSeen = now;
        ProvisionalClock = false;
        foreach (var d in _detectors)
        {
            d.Reset(DetectorReset.ClockRestart);
        }
    }

    /// <summary>True when the digest was not seen before (recorded; a rolling update's two digests both count as known).</summary>
    private bool IsNewImage(string digest)
    {
        if (_imageDigests.Contains(digest))
        {
            return false;
        }

        if (_imageDigests.Count >= 8)
        {
            _imageDigests.Clear();
        }

        var first = _imageDigests.Count == 0;
        _imageDigests.Add(digest);
        return !first;
    }

    /// <summary>
    /// A new image means new binaries and behaviour: what was learned no longer describes the workload, so it is
    /// forgotten and learned again (phase stale) rather than alerting on everything the new version does.
    /// </summary>
    private void Relearn(string digest, DateTimeOffset now)
    {
        foreach (var d in _detectors)
        {
            d.Reset(DetectorReset.Relearn);
        }

        _ctx.Cooldowns.Clear();
        EventsLearned = 0;
        LearningSince = now;
        ShadowSince = null;
        ActiveSince = null;
        RelearnedFor = digest;
        Phase = BaselinePhase.Stale;
    }
}
