using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>Scoring after learning: item novelty, resources, per-peer volume and failures, runs, the day's profile; cooldowns.</summary>
public sealed partial class WorkloadBaseline
{
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
                Feature.Resource, new FeatureKey("sessions:" + (peer ?? e.Net.RemoteIp) + ":" + e.Net.RemotePort.ToString(System.Globalization.CultureInfo.InvariantCulture)), AlertCategories.FailedSessions, failures >= 3 * PeerSessions.Floor ? Severity.High : Severity.Medium, ratio, PeerSessions.Factor, learnedFailures, _sessions.Count,
                $"{failures} connections to {who} within a minute failed or closed within {PeerSessions.ShortLived.TotalSeconds:0} s (how repeated failed logins look); while learning at most {learnedFailures} a minute"));
        }

        if (_activity.Observe(e, now, learning: false, out var events, out var slot) && !Accepts(Feature.Resource, now))
        {
            var learned = _activity.LearnedMax(slot);
            var busiest = Enumerable.Range(0, _activity.Slots).Max(_activity.LearnedMax);
            var span = _options.ActivityCycle / _activity.Slots;
            var from = TimeSpan.FromTicks(span.Ticks * slot);
            findings.Add(new Finding(
                Feature.Resource, new FeatureKey("activity:" + slot.ToString(System.Globalization.CultureInfo.InvariantCulture)), AlertCategories.OffHoursActivity, Severity.Medium, events / (double)Math.Max(1, learned), ActivityProfile.Factor, learned, _activity.Slots,
                $"{events} events within a minute in its quiet slot {from:hh\\:mm}-{from + span:hh\\:mm} (UTC, of a {_options.ActivityCycle.TotalHours:0.##} h cycle); while learning at most {learned} a minute then, {busiest} in its busiest slot"));
        }
    }

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
            Feature.Resource, new FeatureKey("run:" + name), AlertCategories.RunAnomaly, ratio >= 10 ? Severity.High : Severity.Medium, ratio, 3, largest, _runs.FinishedRuns,
            $"this run's {name} is {observed:N0}{unit}, {ratio:0.#}x the most of the last {Math.Min(_runs.FinishedRuns, RunHistory.MaxRuns)} runs ({largest:N0}; median {median:N0})"));
    }

    private void Score(in RuntimeEvent e, string? path, string? peer, DateTimeOffset now, List<Finding> findings)
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
                        findings.Add(s.ToFinding(AlertCategories.UnexpectedProcess, sev, reason));
                    }

                    // A known binary started by a parent it never had (nginx spawning a known helper from a shell).
                    if (verdict == Verdict.Known && parent is not null && Check(Feature.Lineage, new FeatureKey(exe, parent), now, out s) == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForLineage(exe, parent);
                        findings.Add(s.ToFinding(AlertCategories.UnexpectedLineage, sev, reason));
                    }

                    break;
                }

            case EventKind.Syscall when e.SyscallName is { } sc:
                if (Check(Feature.Syscall, new FeatureKey(sc), now, out var syscallScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForSyscall(sc);
                    findings.Add(syscallScore.ToFinding(AlertCategories.UnexpectedSyscall, sev, reason));
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
                    var isCatalogued = SuspiciousCatalogue.TryMatch(e, path, out var catalogued) && catalogued.Feature == Feature.File && catalogued.Severity > sev;
                    if (isCatalogued)
                    {
                        // What the catalogue knows about a file (another container's root through /proc/PID/root, the
                        // runtime socket, a truncated log) is the same after learning: no rollout or warm-up makes it lesser.
                        (sev, reason) = (catalogued.Severity, catalogued.Reason);
                    }

                    if (sev == Severity.High && !isCatalogued && (WarmingUp(now) || IsAdapting(now)) && !SeverityPolicy.IsSensitive(path))
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
                        break;
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
                        break;
                    }

                    if (Check(Feature.File, key, now, out var s) == Verdict.Novel)
                    {
                        findings.Add(s.ToFinding(AlertCategories.UnexpectedFile, sev, reason));
                    }

                    break;
                }

            case EventKind.NetConnect when e.Net.RemoteIp is { } ip:
                if (Check(Feature.Endpoint, EndpointKey(e, peer), now, out var netScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForEndpoint(ip);
                    findings.Add(netScore.ToFinding(AlertCategories.UnexpectedNetwork, sev, reason));
                }

                break;
            case EventKind.NetFlow:
                LearnFlow(e, peer);
                break;
            case EventKind.DnsQuery when e.DnsName is { } dns:
                {
                    var name = NormalizeDns(dns);
                    if (Check(Feature.Dns, new FeatureKey(name), now, out var s) == Verdict.Novel)
                    {
                        var (sev, reason) = SeverityPolicy.ForDns(name);
                        findings.Add(s.ToFinding(AlertCategories.UnexpectedDns, sev, reason));
                    }

                    break;
                }

            case EventKind.NetListen or EventKind.NetAccept:
                if (Check(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort), now, out var portScore) == Verdict.Novel)
                {
                    findings.Add(e.Kind == EventKind.NetListen
                        ? portScore.ToFinding(AlertCategories.UnexpectedListen, Severity.High, "workload listens on a port it never listened on (bind shell?)")
                        : portScore.ToFinding(AlertCategories.UnexpectedListen, Severity.Medium, "connection accepted on a port never served"));
                }

                break;
            case EventKind.ResourceUsage:
                ScoreResource(e.Resource, now, findings);
                break;
            case EventKind.SensorAlert when e.Labels[EventLabels.SensorRule] is { } rule:
                if (Check(Feature.SensorRule, new FeatureKey(rule, e.Labels[EventLabels.Source]), now, out var ruleScore) == Verdict.Novel)
                {
                    var (sev, reason) = SeverityPolicy.ForSensorRule(e.Labels[EventLabels.Source] ?? "sensor", e.Labels[EventLabels.SensorPriority]);
                    findings.Add(ruleScore.ToFinding(AlertCategories.SensorAlert, sev, reason));
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
                    Feature.Resource, new FeatureKey("cpu"), AlertCategories.ResourceAnomaly, z > 2 * _options.ResourceZThreshold ? Severity.High : Severity.Medium,
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
                    Feature.Resource, new FeatureKey("memory"), AlertCategories.ResourceAnomaly, z > 2 * _options.ResourceZThreshold ? Severity.High : Severity.Medium,
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
}
