using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// Item novelty: counts of every executable (and its parent), syscall, normalised file path, outbound endpoint, DNS
/// name, listening port and sensor rule seen while learning; afterwards each event's item is scored by surprisal
/// against those counts, its severity and reason from <see cref="SeverityPolicy"/> and the suspicious catalogue.
/// While learning, what the catalogue flags is raised instead of learned.
/// </summary>
internal sealed class NoveltyDetector : IEventDetector
{
    private static readonly string[] Raised = [AlertCategories.UnexpectedProcess, AlertCategories.UnexpectedLineage, AlertCategories.UnexpectedSyscall, AlertCategories.UnexpectedFile, AlertCategories.UnexpectedNetwork, AlertCategories.UnexpectedDns, AlertCategories.UnexpectedListen, AlertCategories.SensorAlert];

    public const string DetectorName = "novelty";

    private static readonly int FeatureCount = Enum.GetValues<Feature>().Length;

    private readonly DetectionOptions _options;
    private readonly Models.ModelMemoryBudget? _budget;
    private readonly BoundedCounter[] _counters;

    // Distinct learned file names per directory (bounded like the features), keyed without allocating a substring.
    private readonly DirectoryShapes _directories;

    public NoveltyDetector(DetectionOptions options, Models.ModelMemoryBudget? memory)
    {
        _options = options;
        _budget = memory;
        _directories = new DirectoryShapes(options.MaxItemsPerFeature, options.DirectoryWildcardThreshold);
        _counters = new BoundedCounter[FeatureCount];
        for (var i = 0; i < _counters.Length; i++)
        {
            _counters[i] = new BoundedCounter(options.MaxItemsPerFeature, memory);
        }
    }

    public string Name => DetectorName;

    public IReadOnlyList<string> Categories => Raised;

    public BoundedCounter Counter(Feature f) => _counters[(int)f];

    /// <summary>Whether the event's main item (executable, file, endpoint) is known; true for other kinds.</summary>
    public bool Knows(in RuntimeEvent e, string? normalizedPath, string? peer) => e.Kind switch
    {
        EventKind.ProcessExec when e.Process.Exe is { } exe => _counters[(int)Feature.Exec].CountOf(new FeatureKey(exe)) > 0,
        EventKind.FileOpen when normalizedPath is not null => _counters[(int)Feature.File].CountOf(new FeatureKey(normalizedPath)) > 0,
        EventKind.NetConnect when e.Net.RemoteIp is not null => _counters[(int)Feature.Endpoint].CountOf(EndpointKey(e, peer)) > 0,
        _ => true,
    };

    /// <summary>What an outbound connection is learned and scored as (see <see cref="WorkloadBaseline.EndpointKey"/>).</summary>
    public FeatureKey EndpointKey(in RuntimeEvent e, string? peer)
    {
        var port = e.Net.RemotePort;
        if (IsEphemeral(port))
        {
            port = -1;
        }

        return new FeatureKey(peer ?? e.Net.RemoteIp ?? "?", e.Net.Protocol ?? "tcp", port);
    }

    private bool IsEphemeral(int port) => port >= _options.Network.EphemeralPortFirst && port <= _options.Network.EphemeralPortLast;

    internal static string NormalizeDns(string name)
    {
        var n = name.EndsWith('.') ? name[..^1] : name;
        return n.Any(char.IsAsciiLetterUpper) ? n.ToLowerInvariant() : n;
    }

    /// <summary>Counts the item: 1 when it was new, 0 when known, -1 when new but the feature is full.</summary>
    public int Add(Feature f, in FeatureKey key, DetectorContext ctx)
    {
        var result = _counters[(int)f].Add(key);
        switch (result)
        {
            case 1:
                ctx.Changes.ItemLearned(f);
                break;
            case -1:
                ctx.Changes.CapacityExceeded(f);
                break;
        }

        return result;
    }

    public bool Withhold(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        if (!((ctx.Added == AddedContainer.Ephemeral && SuspiciousCatalogue.TryMatchEphemeral(e, out var match)) || SuspiciousCatalogue.TryMatch(e, ctx.Path, out match)))
        {
            return false;
        }

        // A catalogue behaviour while the workload learns: raised (once per cooldown) and kept out of the baseline, so
        // that it cannot become "normal" by happening early. Learned as usual only when an analyst accepted it (feedback).
        var counter = _counters[(int)match.Feature];
        if (ctx.Accepts(match.Feature) || counter.CountOf(match.Item) > 0)
        {
            return false;
        }

        if (!ctx.Cooldowns.IsCoolingDown(match.Feature, match.Item, ctx.Now))
        {
            var total = counter.Total;
            findings.Add(Finding.OfItem(
                match.Feature, match.Item, match.Category, match.Severity, -Math.Log2(0.5 / (total + 1.0)), Math.Log2(total + 1.0), 0, total,
                $"{match.Reason}; suspicious in any container, and the workload is still learning", match.Id));
        }

        return true;
    }

    public void Learn(in RuntimeEvent e, DetectorContext ctx)
    {
        switch (e.Kind)
        {
            case EventKind.ProcessExec when e.Process.Exe is { } exe:
                ctx.LastEventKnown = Add(Feature.Exec, new FeatureKey(exe), ctx) == 0;
                if (e.Process.ParentExe is { } parent)
                {
                    Add(Feature.Lineage, new FeatureKey(exe, parent), ctx);
                }

                break;
            case EventKind.Syscall when e.SyscallName is { } sc:
                Add(Feature.Syscall, new FeatureKey(sc), ctx);
                break;
            case EventKind.FileOpen when ctx.Path is { } path:
                var added = Add(Feature.File, new FeatureKey(path), ctx);
                ctx.LastEventKnown = added == 0;
                if (added == 1)
                {
                    _directories.Count(path);
                }

                if (e.FilePath is { } raw && SeverityPolicy.IsWrite(e.FileFlags))
                {
                    _directories.CountCreated(path, raw);
                }

                break;
            case EventKind.NetConnect when e.Net.RemoteIp is not null:
                ctx.LastEventKnown = Add(Feature.Endpoint, EndpointKey(e, ctx.Peer), ctx) == 0;
                break;
            case EventKind.NetFlow:
                LearnFlow(e, ctx);
                break;
            case EventKind.DnsQuery when e.DnsName is { } dns:
                Add(Feature.Dns, new FeatureKey(NormalizeDns(dns)), ctx);
                break;
            case EventKind.SensorAlert when e.Labels[EventLabels.SensorRule] is { } rule:
                Add(Feature.SensorRule, new FeatureKey(rule, e.Labels[EventLabels.Source]), ctx);
                break;
            case EventKind.NetListen or EventKind.NetAccept:
                Add(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort), ctx);
                break;
        }
    }

    /// <summary>
    /// Traffic on an existing connection is never a new endpoint by itself, but it says what the workload talks to
    /// (connections opened before the sensor or the baseline started): an outbound flow's peer and an inbound flow's
    /// service port are learned, silently, in every phase.
    /// </summary>
    private void LearnFlow(in RuntimeEvent e, DetectorContext ctx)
    {
        if (e.Net.Direction == NetDirection.Outbound && e.Net.RemoteIp is not null)
        {
            Add(Feature.Endpoint, EndpointKey(e, ctx.Peer), ctx);
        }
        else if (e.Net.Direction == NetDirection.Inbound && e.Net.LocalPort > 0 && !IsEphemeral(e.Net.LocalPort))
        {
            Add(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort), ctx);
        }
    }

    public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        // Severity and reason are worked out only for items that are surprising: known behaviour, the common
        // case, must not allocate.
        switch (e.Kind)
        {
            case EventKind.ProcessExec when e.Process.Exe is { } exe:
                {
                    var parent = e.Process.ParentExe;
                    var verdict = Check(Feature.Exec, new FeatureKey(exe), ctx, out var s);
                    if (verdict == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForExec(exe, parent);
                        findings.Add(s.ToFinding(AlertCategories.UnexpectedProcess, sev, reason));
                    }

                    // A known binary started by a parent it never had (nginx spawning a known helper from a shell).
                    if (verdict == Verdict.Known && parent is not null && Check(Feature.Lineage, new FeatureKey(exe, parent), ctx, out s) == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForLineage(exe, parent);
                        findings.Add(s.ToFinding(AlertCategories.UnexpectedLineage, sev, reason));
                    }

                    break;
                }

            case EventKind.Syscall when e.SyscallName is { } sc:
                if (Check(Feature.Syscall, new FeatureKey(sc), ctx, out var syscallScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForSyscall(sc);
                    findings.Add(syscallScore.ToFinding(AlertCategories.UnexpectedSyscall, sev, reason));
                }

                break;
            case EventKind.FileOpen when ctx.Path is { } path:
                ScoreFile(e, path, ctx, findings);
                break;
            case EventKind.NetConnect when e.Net.RemoteIp is { } ip:
                if (Check(Feature.Endpoint, EndpointKey(e, ctx.Peer), ctx, out var netScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForEndpoint(ip);
                    findings.Add(netScore.ToFinding(AlertCategories.UnexpectedNetwork, sev, reason));
                }

                break;
            case EventKind.NetFlow:
                LearnFlow(e, ctx);
                break;
            case EventKind.DnsQuery when e.DnsName is { } dns:
                {
                    var name = NormalizeDns(dns);
                    if (Check(Feature.Dns, new FeatureKey(name), ctx, out var s) == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForDns(name);
                        findings.Add(s.ToFinding(AlertCategories.UnexpectedDns, sev, reason));
                    }

                    break;
                }

            case EventKind.NetListen or EventKind.NetAccept:
                if (Check(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort), ctx, out var portScore) == Verdict.Novel)
                {
                    findings.Add(e.Kind == EventKind.NetListen
                        ? portScore.ToFinding(AlertCategories.UnexpectedListen, Severity.High, "workload listens on a port it never listened on (bind shell?)")
                        : portScore.ToFinding(AlertCategories.UnexpectedListen, Severity.Medium, "connection accepted on a port never served"));
                }

                break;
            case EventKind.SensorAlert when e.Labels[EventLabels.SensorRule] is { } rule:
                if (Check(Feature.SensorRule, new FeatureKey(rule, e.Labels[EventLabels.Source]), ctx, out var ruleScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForSensorRule(e.Labels[EventLabels.Source] ?? "sensor", e.Labels[EventLabels.SensorPriority]);
                    findings.Add(ruleScore.ToFinding(AlertCategories.SensorAlert, sev, reason));
                }

                break;
        }
    }

    private void ScoreFile(in RuntimeEvent e, string path, DetectorContext ctx, List<Finding> findings)
    {
        var counter = _counters[(int)Feature.File];
        var key = new FeatureKey(path);
        if (counter.CountOf(key) > 0)
        {
            return;
        }

        ctx.LastEventKnown = false;

        var (sev, reason) = SeverityPolicy.ForFile(path, e.FileFlags);
        var isCatalogued = SuspiciousCatalogue.TryMatch(e, path, out var catalogued) && catalogued.Feature == Feature.File && catalogued.Severity > sev;
        if (isCatalogued)
        {
            // What the catalogue knows about a file (another container's root through /proc/PID/root, the
            // runtime socket, a truncated log) is the same after learning: no rollout or warm-up makes it lesser.
            (sev, reason) = (catalogued.Severity, catalogued.Reason);
        }

        if (sev == Severity.High && !isCatalogued && (ctx.WarmingUp || ctx.Adapting) && !SeverityPolicy.IsSensitive(path))
        {
            // Entrypoints template their configuration (/etc/nginx/conf.d/...) when a container starts; a
            // credential or loader file (/etc/shadow, /etc/ld.so.preload, cron) stays high.
            (sev, reason) = (Severity.Medium, reason + " while a new container starts");
        }

        var children = _directories.Children(path);
        var known = children > 0;
        if (sev < Severity.High && (children >= _options.DirectoryWildcardThreshold || _directories.InBusySubtree(path, _options.DirectoryWildcardThreshold)))
        {
            // The workload created many differently named files here while learning (uploads, temp
            // files, caches), or under here: a new name is its normal behaviour.
            return;
        }

        if (known && sev > Severity.Low && !SeverityPolicy.IsSensitive(path))
        {
            // A new name in a directory the workload already used (a rotated certificate, the next cache
            // file, a new log): context for an incident, not a page of its own.
            (sev, reason) = (Severity.Low, reason + " in a directory it already uses");
        }

        if (counter.Saturated && sev < Severity.High)
        {
            // The path set hit its cap while learning, so "never seen" is not evidence here; only
            // inherently sensitive paths still alert.
            return;
        }

        if (Check(Feature.File, key, ctx, out var s) == Verdict.Novel)
        {
            findings.Add(s.ToFinding(AlertCategories.UnexpectedFile, sev, reason));
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
        public Finding ToFinding(string category, Severity severity, string reason) => Finding.OfItem(Feature, Item, category, severity, Score, Threshold, Count, Total, reason);
    }

    private Verdict Check(Feature f, in FeatureKey key, DetectorContext ctx, out ItemScore result)
    {
        var counter = _counters[(int)f];
        var count = counter.CountOf(key);
        var total = counter.Total;
        if (f is Feature.Exec or Feature.Endpoint)
        {
            ctx.LastEventKnown = count > 0;
        }

        if (ctx.Accepts(f))
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
        ctx.ScoreMargin = double.IsNaN(ctx.ScoreMargin) ? score - threshold : Math.Max(ctx.ScoreMargin, score - threshold);
        if (score <= threshold)
        {
            return Verdict.Known;
        }

        return ctx.Cooldowns.IsCoolingDown(f, key, ctx.Now) ? Verdict.CoolingDown : Verdict.Novel;
    }

    public void Reset(DetectorReset why)
    {
        switch (why)
        {
            case DetectorReset.Relearn:
                for (var i = 0; i < _counters.Length; i++)
                {
                    _counters[i].ReleaseMemory();
                    _counters[i] = new BoundedCounter(_options.MaxItemsPerFeature, _budget);
                }

                _directories.Clear();
                break;
            case DetectorReset.Release:
                foreach (var c in _counters)
                {
                    c.ReleaseMemory();
                }

                break;
        }
    }

    /// <summary>Section 0: the counters (the directories are rebuilt from the files); section 1: the busy subtrees (format 4).</summary>
    public void WriteState(StateWriter w, int section)
    {
        if (section == 1)
        {
            w.Count(_directories.BusyByName.Count);
            foreach (var d in _directories.BusyByName)
            {
                w.String(d);
            }

            return;
        }

        w.Count(_counters.Length);
        foreach (var c in _counters)
        {
            w.Long(c.Total);
            w.Long(c.Overflow);
            w.Count(c.Count);
            foreach (var (key, count) in c.Items)
            {
                FeatureKeyState.Write(w, key);
                w.Long(count);
            }
        }
    }

    public void ReadState(StateReader r, int section)
    {
        if (section == 1)
        {
            if (r.Format >= 4)
            {
                var busy = r.Count(_options.MaxItemsPerFeature, "busy_subtrees");
                for (var i = 0; i < busy; i++)
                {
                    _directories.RestoreBusy(r.String("busy_subtree"));
                }
            }

            return;
        }

        var features = r.Count(FeatureCount, "features");
        for (var f = 0; f < features; f++)
        {
            var total = r.NonNegative("total");
            var overflow = r.NonNegative("overflow");
            var n = r.Count(_options.MaxItemsPerFeature, $"{((Feature)f).ToWire()} items");
            var counter = new BoundedCounter(_options.MaxItemsPerFeature, _budget);
            _counters[f].ReleaseMemory();
            _counters[f] = counter;
            for (var i = 0; i < n; i++)
            {
                var key = FeatureKeyState.Read(r);
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
                    _directories.Count(key.A);
                }
            }
        }
    }
}
