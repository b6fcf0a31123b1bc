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

/// <summary>What a baseline learns from, and reports, for an event. Implemented by the shard to count bounds and findings.</summary>
public interface IBaselineObserver
{
    void ItemLearned(Feature feature);

    void CapacityExceeded(Feature feature);

    void PhaseChanged(BaselinePhase from, BaselinePhase to);
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
    private readonly Dictionary<ReadOnlyMemory<char>, int> _directoryChildren = new(MemoryComparer.Instance);
    private readonly HashSet<string> _imageDigests = new(StringComparer.Ordinal);
    private readonly DateTimeOffset[] _acceptedUntil = new DateTimeOffset[FeatureCount];
    private RunningStats _cpu;
    private RunningStats _memory;

    private readonly Models.ModelMemoryBudget? _budget;

    /// <param name="memory">The node's memory budget, from which every learned item reserves its bytes.</param>
    public WorkloadBaseline(DetectionOptions options, DateTimeOffset firstSeen, Models.ModelMemoryBudget? memory = null)
    {
        _options = options;
        _budget = memory;
        _peerVolume = new PeerVolume(options.MaxItemsPerFeature);
        _sessions = new PeerSessions(options.MaxItemsPerFeature);
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

    /// <summary>Model state of the workload (null when models are disabled); owned by the same shard.</summary>
    public Models.ModelRuntime? Models { get; set; }

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

    /// <summary>Learns from or scores one event; findings (only in the active phase) are appended to <paramref name="findings"/>.</summary>
    /// <param name="peer">For network events, the identity of the remote peer (<see cref="Network.PeerResolver"/>); null: its address.</param>
    public void Observe(in RuntimeEvent e, string? normalizedPath, DateTimeOffset now, IBaselineObserver observer, List<Finding> findings, string? peer = null)
    {
        LastSeen = now;
        LastEventKnown = true;
        NoteContainer(e.Workload.ContainerId, now);
        _runBased ??= e.Workload.OwnerKind is "Job" or "CronJob";
        var run = _runBased == true ? _runs.Observe(e, now) : null;
        if (e.Kind == EventKind.ProcessExit && e.Labels[EventLabels.ContainerInit] is not null)
        {
            NoteContainerStop(now);
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
                Relearn(digest, now, observer);
            }
        }

        switch (Phase)
        {
            case BaselinePhase.Learning or BaselinePhase.Stale:
                if (!(SuspiciousCatalogue.TryMatch(e, normalizedPath, out var match) && RaiseWhileLearning(match, now, findings)))
                {
                    Learn(e, normalizedPath, peer, observer);
                    if (e.Net.BytesOut > 0)
                    {
                        _peerVolume.Observe(e, peer, now, learning: true, out _, out _);
                    }

                    _sessions.Observe(e, peer, now, learning: true, out _, out _);
                    _activity.Observe(e, now, learning: true, out _, out _, LearningSince);
                }

                EventsLearned++;
                if ((now - LearningSince >= _options.LearningDuration && EventsLearned >= _options.MinLearningEvents)
                    || (_runBased == true && _runs.FinishedRuns >= _options.MinLearningRuns))
                {
                    var from = Phase;
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

                    observer.PhaseChanged(from, Phase);
                }

                return;
            case BaselinePhase.Shadow when now - ShadowSince >= _options.Models.ShadowDuration:
                Phase = BaselinePhase.Active;
                observer.PhaseChanged(BaselinePhase.Shadow, BaselinePhase.Active);
                break;
        }

        // Shadow holds back the model detectors only (their thresholds are being confirmed); item novelty needs no
        // confirmation and alerts from the end of learning.
        EventsScored++;
        LastScoreMargin = double.NaN;
        var before = findings.Count;
        Score(e, normalizedPath, peer, now, findings, observer);
        if (run is not null)
        {
            ScoreRun(run, now, findings);
        }

        if (e.Net.BytesOut > 0 && _peerVolume.Observe(e, peer, now, learning: false, out var minuteBytes, out var learnedMax) && !Accepts(Feature.Resource, now))
        {
            var who = peer ?? e.Net.RemoteIp!;
            var ratio = minuteBytes / (double)Math.Max(1, learnedMax);
            findings.Add(new Finding(
                Feature.Resource, new FeatureKey("peer:" + who), "peer_volume", ratio >= 20 ? Severity.High : Severity.Medium, ratio, PeerVolume.Factor, learnedMax, _peerVolume.Count,
                $"{minuteBytes:N0} bytes to {who} within a minute; the most it was sent in a minute while learning was {learnedMax:N0}"));
        }

        ScoreSessionsAndActivity(e, peer, now, findings);
        if (findings.Count > before && IsAdapting(now))
        {
            AdaptFindings(findings, before, observer);
        }
    }

    private readonly RunHistory _runs = new();
    private readonly PeerVolume _peerVolume;
    private readonly PeerSessions _sessions;
    private readonly ActivityProfile _activity;

    /// <summary>Failed or at-once-closed connections to one peer (password guessing), and a busy minute at a quiet hour.</summary>
    private void ScoreSessionsAndActivity(in RuntimeEvent e, string? peer, DateTimeOffset now, List<Finding> findings)
    {
        if (_sessions.Observe(e, peer, now, learning: false, out var failures, out var learnedFailures) && !Accepts(Feature.Resource, now))
        {
            var who = (peer ?? e.Net.RemoteIp) + ":" + e.Net.RemotePort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (peer is not null && peer != e.Net.RemoteIp)
            {
                who += $" (last at {e.Net.RemoteIp})";
            }

            var ratio = failures / (double)Math.Max(1, learnedFailures);
            findings.Add(new Finding(
                Feature.Resource, new FeatureKey("sessions:" + (peer ?? e.Net.RemoteIp) + ":" + e.Net.RemotePort.ToString(System.Globalization.CultureInfo.InvariantCulture)), "failed_sessions", failures >= 3 * PeerSessions.Floor ? Severity.High : Severity.Medium, ratio, PeerSessions.Factor, learnedFailures, _sessions.Count,
                $"{failures} connections to {who} within a minute failed or closed within {PeerSessions.ShortLived.TotalSeconds:0} s (how repeated failed logins look); while learning at most {learnedFailures} a minute"));
        }

        if (_activity.Observe(e, now, learning: false, out var events, out var slot) && !Accepts(Feature.Resource, now))
        {
            var learned = _activity.LearnedMax(slot);
            var busiest = Enumerable.Range(0, _activity.Slots).Max(_activity.LearnedMax);
            var span = _options.ActivityCycle / _activity.Slots;
            var from = TimeSpan.FromTicks(span.Ticks * slot);
            findings.Add(new Finding(
                Feature.Resource, new FeatureKey("activity:" + slot.ToString(System.Globalization.CultureInfo.InvariantCulture)), "off_hours_activity", Severity.Medium, events / (double)Math.Max(1, learned), ActivityProfile.Factor, learned, _activity.Slots,
                $"{events} events within a minute in its quiet slot {from:hh\\:mm}-{from + span:hh\\:mm} (UTC, of a {_options.ActivityCycle.TotalHours:0.##} h cycle); while learning at most {learned} a minute then, {busiest} in its busiest slot"));
        }
    }
    private bool? _runBased;

    /// <summary>Runs (pods) of a CronJob or Job finished since it began learning; such a workload learns across runs.</summary>
    public long RunsFinished => _runs.FinishedRuns;

    /// <summary>A run that sends, connects or executes far more than every earlier run of the job (once per run and metric).</summary>
    private void ScoreRun(string run, DateTimeOffset now, List<Finding> findings)
    {
        if (!_runs.TryExceed(run, _options.MinLearningRuns, out var m, out var observed, out var largest, out var median) || Accepts(Feature.Resource, now))
        {
            return;
        }

        var name = RunHistory.Metrics[m];
        var ratio = observed / (double)Math.Max(1, largest);
        var unit = m == 0 ? " bytes" : "";
        findings.Add(new Finding(
            Feature.Resource, new FeatureKey("run:" + name), "run_anomaly", ratio >= 10 ? Severity.High : Severity.Medium, ratio, 3, largest, _runs.FinishedRuns,
            $"this run's {name} is {observed:N0}{unit}, {ratio:0.#}x the most of the last {Math.Min(_runs.FinishedRuns, RunHistory.MaxRuns)} runs ({largest:N0}; median {median:N0})"));
    }

    private readonly Queue<string> _containers = new();
    private readonly HashSet<string> _knownContainers = new(StringComparer.Ordinal);

    /// <summary>Distinct containers the workload ran while learning: three or more mean starts are its normal.</summary>
    public int ContainersWhileLearning { get; private set; }

    /// <summary>Until when a container that started after learning warms up (see <see cref="WarmingUp"/>).</summary>
    public DateTimeOffset WarmupUntil { get; private set; }

    /// <summary>
    /// True while a replica, restart or rollout of the workload is starting: its first windows (entrypoints, caches,
    /// connection pools) are unlike steady state, so the behaviour models do not judge them. Item novelty still does.
    /// </summary>
    public bool WarmingUp(DateTimeOffset now) => now < WarmupUntil;

    /// <summary>Notes the container an event came from; a container first seen after learning starts a warm-up.</summary>
    private void NoteContainer(string? containerId, DateTimeOffset now)
    {
        if (containerId is null || _knownContainers.Contains(containerId))
        {
            return;
        }

        if (_knownContainers.Count >= 64)
        {
            _knownContainers.Remove(_containers.Dequeue());
        }

        _knownContainers.Add(containerId);
        _containers.Enqueue(containerId);
        if (Phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            ContainersWhileLearning++;
        }
        else if (ContainersWhileLearning < 3)
        {
            // Starts were not part of what the models learned (long-running pods): give a new one time to settle.
            // A workload that started containers all along (a CronJob, a batch Deployment) learned its starts: no pause.
            WarmupUntil = now + _options.WarmupPeriod;
        }
    }

    /// <summary>
    /// When a container's entrypoint (its PID 1, as the sensor reports it) exits, the container stops (a rollout, a
    /// replacement, a scale-down, a restart): its last windows are as unlike steady state as a start's. The parent
    /// alone cannot tell: exec probes and <c>kubectl exec</c> are children of the runtime too.
    /// </summary>
    private void NoteContainerStop(DateTimeOffset now)
    {
        if (Phase is not (BaselinePhase.Learning or BaselinePhase.Stale) && ContainersWhileLearning < 3)
        {
            WarmupUntil = now + _options.WarmupPeriod;
        }
    }

    /// <summary>The image the workload is adapting to after a rollout, while <see cref="AdaptingUntil"/> lasts.</summary>
    public string? AdaptingTo { get; private set; }

    public DateTimeOffset AdaptingUntil { get; private set; }

    public bool IsAdapting(DateTimeOffset now) => AdaptingTo is not null && now < AdaptingUntil;

    /// <summary>
    /// While adapting to a new image, a novel item below high severity is the new version's normal: it is learned, not
    /// raised. High and critical findings (shells under servers, credential files, miners, /tmp executables, new
    /// external peers...) still alert, and say the workload is adapting.
    /// </summary>
    private void AdaptFindings(List<Finding> findings, int from, IBaselineObserver observer)
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
                Add(f.Feature, f.Item, observer);
                if (f.Feature == Feature.Exec && f.Item.B is { } parent)
                {
                    Add(Feature.Lineage, new FeatureKey(f.Item.A, parent), observer);
                }
            }

            AdaptedItems++;
            findings.RemoveAt(i);
        }
    }

    /// <summary>Items learned silently while adapting to a new image (instead of alerting).</summary>
    public long AdaptedItems { get; private set; }

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
        _activity.Clear(); // inventory timestamps are no hours the workload was watched in
        _sessions.Clear();
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
    private void Relearn(string digest, DateTimeOffset now, IBaselineObserver observer)
    {
        for (var i = 0; i < _counters.Length; i++)
        {
            _counters[i].ReleaseMemory();
            _counters[i] = new BoundedCounter(_options.MaxItemsPerFeature, _budget);
        }

        _directoryChildren.Clear();
        _lastAlerted.Clear();
        _runs.Clear();
        _peerVolume.Clear();
        _sessions.Clear();
        _activity.Clear();
        _cpu = default;
        _memory = default;
        EventsLearned = 0;
        LearningSince = now;
        ShadowSince = null;
        ActiveSince = null;
        RelearnedFor = digest;
        var from = Phase;
        Phase = BaselinePhase.Stale;
        observer.PhaseChanged(from, BaselinePhase.Stale);
    }

    private void Learn(in RuntimeEvent e, string? path, string? peer, IBaselineObserver observer)
    {
        switch (e.Kind)
        {
            case EventKind.ProcessExec when e.Process.Exe is { } exe:
                LastEventKnown = Add(Feature.Exec, new FeatureKey(exe), observer) == 0;
                if (e.Process.ParentExe is { } parent)
                {
                    Add(Feature.Lineage, new FeatureKey(exe, parent), observer);
                }

                break;
            case EventKind.Syscall when e.SyscallName is { } sc:
                Add(Feature.Syscall, new FeatureKey(sc), observer);
                break;
            case EventKind.FileOpen when path is not null:
                var added = Add(Feature.File, new FeatureKey(path), observer);
                LastEventKnown = added == 0;
                if (added == 1)
                {
                    CountDirectoryChild(path);
                }

                break;
            case EventKind.NetConnect when e.Net.RemoteIp is not null:
                LastEventKnown = Add(Feature.Endpoint, EndpointKey(e, peer), observer) == 0;
                break;
            case EventKind.NetFlow:
                LearnFlow(e, peer, observer);
                break;
            case EventKind.DnsQuery when e.DnsName is { } dns:
                Add(Feature.Dns, new FeatureKey(NormalizeDns(dns)), observer);
                break;
            case EventKind.SensorAlert when e.Labels[EventLabels.SensorRule] is { } rule:
                Add(Feature.SensorRule, new FeatureKey(rule, e.Labels[EventLabels.Source]), observer);
                break;
            case EventKind.NetListen or EventKind.NetAccept:
                Add(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort), observer);
                break;
            case EventKind.ResourceUsage:
                if (e.Resource.CpuCores >= 0)
                {
                    _cpu.Add(e.Resource.CpuCores);
                }

                if (e.Resource.MemoryBytes >= 0)
                {
                    _memory.Add(e.Resource.MemoryBytes);
                }

                break;
        }
    }

    /// <summary>
    /// Traffic on an existing connection is never a new endpoint by itself, but it says what the workload talks to
    /// (connections opened before the sensor or the baseline started): an outbound flow's peer and an inbound flow's
    /// service port are learned, silently, in every phase.
    /// </summary>
    private void LearnFlow(in RuntimeEvent e, string? peer, IBaselineObserver observer)
    {
        if (e.Net.Direction == NetDirection.Outbound && e.Net.RemoteIp is not null)
        {
            Add(Feature.Endpoint, EndpointKey(e, peer), observer);
        }
        else if (e.Net.Direction == NetDirection.Inbound && e.Net.LocalPort > 0 && !IsEphemeral(e.Net.LocalPort))
        {
            Add(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort), observer);
        }
    }

    /// <summary>Counts the item; true when it was new to the baseline.</summary>
    /// <summary>Counts the item: 1 when it was new, 0 when known, -1 when new but the feature is full.</summary>
    private int Add(Feature f, in FeatureKey key, IBaselineObserver observer)
    {
        var result = _counters[(int)f].Add(key);
        switch (result)
        {
            case 1:
                observer.ItemLearned(f);
                break;
            case -1:
                observer.CapacityExceeded(f);
                break;
        }

        return result;
    }

    private void Score(in RuntimeEvent e, string? path, string? peer, DateTimeOffset now, List<Finding> findings, IBaselineObserver observer)
    {
        // Severity and reason are worked out only for items that are surprising: known behaviour, the common
        // case, must not allocate.
        switch (e.Kind)
        {
            case EventKind.ProcessExec when e.Process.Exe is { } exe:
                {
                    var parent = e.Process.ParentExe;
                    var verdict = Check(Feature.Exec, new FeatureKey(exe), now, out var s);
                    if (verdict == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForExec(exe, parent);
                        findings.Add(s.ToFinding("unexpected_process", sev, reason));
                    }

                    // A known binary started by a parent it never had (nginx spawning a known helper from a shell).
                    if (verdict == Verdict.Known && parent is not null && Check(Feature.Lineage, new FeatureKey(exe, parent), now, out s) == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForLineage(exe, parent);
                        findings.Add(s.ToFinding("unexpected_lineage", sev, reason));
                    }

                    break;
                }

            case EventKind.Syscall when e.SyscallName is { } sc:
                if (Check(Feature.Syscall, new FeatureKey(sc), now, out var syscallScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForSyscall(sc);
                    findings.Add(syscallScore.ToFinding("unexpected_syscall", sev, reason));
                }

                break;
            case EventKind.FileOpen when path is not null:
                {
                    var counter = _counters[(int)Feature.File];
                    var key = new FeatureKey(path);
                    if (counter.CountOf(key) > 0)
                    {
                        break;
                    }

                    LastEventKnown = false;

                    var (sev, reason) = SeverityPolicy.ForFile(path, e.FileFlags);
                    if (sev == Severity.High && (WarmingUp(now) || IsAdapting(now)) && !SeverityPolicy.IsSensitive(path))
                    {
                        // Entrypoints template their configuration (/etc/nginx/conf.d/...) when a container starts; a
                        // credential or loader file (/etc/shadow, /etc/ld.so.preload, cron) stays high.
                        (sev, reason) = (Severity.Medium, reason + " while a new container starts");
                    }

                    if (sev < Severity.High && _directoryChildren.TryGetValue(Directory(path), out var children) && children >= _options.DirectoryWildcardThreshold)
                    {
                        // The workload created many differently named files here while learning (uploads, temp
                        // files, caches): a new name in this directory is its normal behaviour.
                        break;
                    }

                    if (counter.Saturated && sev < Severity.High)
                    {
                        // The path set hit its cap while learning, so "never seen" is not evidence here; only
                        // inherently sensitive paths still alert.
                        break;
                    }

                    if (Check(Feature.File, key, now, out var s) == Verdict.Novel)
                    {
                        findings.Add(s.ToFinding("unexpected_file", sev, reason));
                    }

                    break;
                }

            case EventKind.NetConnect when e.Net.RemoteIp is { } ip:
                if (Check(Feature.Endpoint, EndpointKey(e, peer), now, out var netScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForEndpoint(ip);
                    findings.Add(netScore.ToFinding("unexpected_network", sev, reason));
                }

                break;
            case EventKind.NetFlow:
                LearnFlow(e, peer, observer);
                break;
            case EventKind.DnsQuery when e.DnsName is { } dns:
                {
                    var name = NormalizeDns(dns);
                    if (Check(Feature.Dns, new FeatureKey(name), now, out var s) == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForDns(name);
                        findings.Add(s.ToFinding("unexpected_dns", sev, reason));
                    }

                    break;
                }

            case EventKind.NetListen or EventKind.NetAccept:
                if (Check(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort), now, out var portScore) == Verdict.Novel)
                {
                    findings.Add(e.Kind == EventKind.NetListen
                        ? portScore.ToFinding("unexpected_listen", Severity.High, "workload listens on a port it never listened on (bind shell?)")
                        : portScore.ToFinding("unexpected_listen", Severity.Medium, "connection accepted on a port never served"));
                }

                break;
            case EventKind.ResourceUsage:
                ScoreResource(e.Resource, now, findings);
                break;
            case EventKind.SensorAlert when e.Labels[EventLabels.SensorRule] is { } rule:
                if (Check(Feature.SensorRule, new FeatureKey(rule, e.Labels[EventLabels.Source]), now, out var ruleScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForSensorRule(e.Labels[EventLabels.Source] ?? "sensor", e.Labels[EventLabels.SensorPriority]);
                    findings.Add(ruleScore.ToFinding("sensor_alert", sev, reason));
                }

                break;
        }
    }

    private enum Verdict
    {
        Known,
        Novel,
        CoolingDown,
    }

    private readonly record struct ItemScore(Feature Feature, FeatureKey Item, double Score, double Threshold, long Count, long Total)
    {
        public Finding ToFinding(string category, Severity severity, string reason) => new(Feature, Item, category, severity, Score, Threshold, Count, Total, reason);
    }

    private Verdict Check(Feature f, in FeatureKey key, DateTimeOffset now, out ItemScore result)
    {
        var counter = _counters[(int)f];
        var count = counter.CountOf(key);
        var total = counter.Total;
        if (f is Feature.Exec or Feature.Endpoint)
        {
            LastEventKnown = count > 0;
        }

        if (Accepts(f, now))
        {
            // An analyst accepted this whole feature for the workload: learn silently instead of alerting.
            counter.Add(key);
            result = new ItemScore(f, key, 0, 0, count, total);
            return Verdict.Known;
        }


        // Surprisal with add-one-half smoothing: an item never seen in N learned items scores log2(N+1)+1 bits,
        // an item seen once log2(N+1)-0.58. The threshold log2(N+1)-RarityBits therefore separates "never seen"
        // from "seen" at RarityBits=0 and admits rare items as RarityBits grows (docs/alerts.md).
        var score = -Math.Log2((count + 0.5) / (total + 1.0));
        var threshold = Math.Log2(total + 1.0) - _options.RarityBits;
        result = new ItemScore(f, key, score, threshold, count, total);
        LastScoreMargin = double.IsNaN(LastScoreMargin) ? score - threshold : Math.Max(LastScoreMargin, score - threshold);
        if (score <= threshold)
        {
            return Verdict.Known;
        }

        return IsCoolingDown(f, key, now) ? Verdict.CoolingDown : Verdict.Novel;
    }

    /// <summary>
    /// A catalogue behaviour while the workload learns: raised (once per cooldown) and kept out of the baseline, so that
    /// it cannot become "normal" by happening early. Learned as usual only when an analyst accepted it (feedback).
    /// </summary>
    private bool RaiseWhileLearning(in CatalogueMatch m, DateTimeOffset now, List<Finding> findings)
    {
        var counter = _counters[(int)m.Feature];
        if (Accepts(m.Feature, now) || counter.CountOf(m.Item) > 0)
        {
            return false;
        }

        if (!IsCoolingDown(m.Feature, m.Item, now))
        {
            var total = counter.Total;
            findings.Add(new Finding(
                m.Feature, m.Item, m.Category, m.Severity, -Math.Log2(0.5 / (total + 1.0)), Math.Log2(total + 1.0), 0, total,
                $"{m.Reason}; suspicious in any container, and the workload is still learning", m.Id));
        }

        return true;
    }

    private void ScoreResource(in ResourceSample r, DateTimeOffset now, List<Finding> findings)
    {
        if (r.CpuCores >= 0 && _cpu.Count >= _options.ResourceMinSamples)
        {
            // The floor keeps a perfectly flat learned series from turning any wiggle into an infinite z-score.
            var sd = Math.Max(_cpu.StdDev, Math.Max(0.05 * _cpu.Mean, 0.02));
            var z = (r.CpuCores - _cpu.Mean) / sd;
            if (z > _options.ResourceZThreshold && !IsCoolingDown(Feature.Resource, new FeatureKey("cpu"), now))
            {
                findings.Add(new Finding(
                    Feature.Resource, new FeatureKey("cpu"), "resource_anomaly", z > 2 * _options.ResourceZThreshold ? Severity.High : Severity.Medium,
                    z, _options.ResourceZThreshold, (long)Math.Round(_cpu.Mean * 1000), _cpu.Count,
                    $"CPU {r.CpuCores:0.###} cores vs learned mean {_cpu.Mean:0.###} (sd {sd:0.###})"));
            }
        }

        if (r.MemoryBytes >= 0 && _memory.Count >= _options.ResourceMinSamples)
        {
            var sd = Math.Max(_memory.StdDev, Math.Max(0.05 * _memory.Mean, 1 << 20));
            var z = (r.MemoryBytes - _memory.Mean) / sd;
            if (z > _options.ResourceZThreshold && !IsCoolingDown(Feature.Resource, new FeatureKey("memory"), now))
            {
                findings.Add(new Finding(
                    Feature.Resource, new FeatureKey("memory"), "resource_anomaly", z > 2 * _options.ResourceZThreshold ? Severity.High : Severity.Medium,
                    z, _options.ResourceZThreshold, (long)_memory.Mean, _memory.Count,
                    $"memory {r.MemoryBytes / 1048576.0:0.#} MiB vs learned mean {_memory.Mean / 1048576.0:0.#} MiB"));
            }
        }
    }

    private bool IsCoolingDown(Feature f, in FeatureKey key, DateTimeOffset now)
    {
        var k = (f, key);
        if (_lastAlerted.TryGetValue(k, out var last) && now - last < _options.AlertCooldown)
        {
            CooldownSuppressed++;
            return true;
        }

        if (_lastAlerted.Count >= _options.MaxItemsPerFeature)
        {
            // Bounded like everything else per workload: forget cooldowns that have expired, or all if none has.
            var expired = _lastAlerted.Where(kv => now - kv.Value >= _options.AlertCooldown).Select(kv => kv.Key).ToList();
            if (expired.Count == 0)
            {
                _lastAlerted.Clear();
            }

            foreach (var x in expired)
            {
                _lastAlerted.Remove(x);
            }
        }

        _lastAlerted[k] = now;
        return false;
    }

    private void CountDirectoryChild(string path)
    {
        var dir = Directory(path);
        if (_directoryChildren.TryGetValue(dir, out var n))
        {
            _directoryChildren[dir] = n + 1;
        }
        else if (_directoryChildren.Count < _options.MaxItemsPerFeature)
        {
            _directoryChildren[dir] = 1;
        }
    }

    private static ReadOnlyMemory<char> Directory(string path) => path.AsMemory(0, Math.Max(path.LastIndexOf('/'), 0));

    internal static string NormalizeDns(string name)
    {
        var n = name.EndsWith('.') ? name[..^1] : name;
        return n.Any(char.IsAsciiLetterUpper) ? n.ToLowerInvariant() : n;
    }
}

/// <summary>Ordinal equality for <see cref="ReadOnlyMemory{T}"/> of chars (directory prefixes of interned paths).</summary>
internal sealed class MemoryComparer : IEqualityComparer<ReadOnlyMemory<char>>
{
    public static MemoryComparer Instance { get; } = new();

    public bool Equals(ReadOnlyMemory<char> x, ReadOnlyMemory<char> y) => x.Span.SequenceEqual(y.Span);

    public int GetHashCode(ReadOnlyMemory<char> obj) => string.GetHashCode(obj.Span, StringComparison.Ordinal);
}
