using System.Text.Json;
using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>An attack of the pools: whether this cluster has what it needs, and what it does from a time on.</summary>
internal sealed record AttackPlan(string Name, bool Stealthy, int Minutes, Func<bool> Eligible, Action<DateTimeOffset> Run);

/// <summary>
/// Plans and runs the labelled attacks: from a pool of 16 that do something the workload never does
/// (<see cref="NewAttacks"/>) at least 8 per seed, from a pool of 9 stealthy ones (<see cref="StealthyAttacks"/>: only a
/// rate, a volume, a time or a direction changes) at least 5, each on a target the seed's cluster has; one more while
/// the workloads still learn. Attacks are spread over the attack window (the long stealthy ones start first).
/// </summary>
internal sealed class ClusterAttacks
{
    private readonly ClusterWorld _w;
    private readonly List<AttackPlan> _new;
    private readonly List<AttackPlan> _stealthy;
    private readonly SortedDictionary<int, List<AttackPlan>> _at = [];

    public ClusterAttacks(ClusterWorld w)
    {
        _w = w;
        _new = new NewAttacks(w, this).Pool;
        _stealthy = new StealthyAttacks(w, this).Pool;
    }

    /// <summary>Both pools, whether or not this cluster has what each attack needs.</summary>
    public IReadOnlyList<AttackPlan> Pools => [.. _new, .. _stealthy];

    public void Plan(int learningMinutes, int normalMinutes, int attackMinutes)
    {
        var news = _new.Where(a => a.Eligible()).OrderBy(_ => _w.R.Next()).ToList();
        var stealthy = _stealthy.Where(a => a.Eligible()).OrderBy(_ => _w.R.Next()).ToList();
        var chosen = news.Take(Math.Min(news.Count, 8 + _w.R.Next(0, 2))).Concat(stealthy.Take(Math.Min(stealthy.Count, 5 + _w.R.Next(0, 2)))).ToList();

        // One attacker does not wait for learning to end.
        var early = news.Skip(chosen.Count(c => !c.Stealthy)).FirstOrDefault(a => a.Minutes <= 2) ?? news.First(a => a.Minutes <= 2);
        Add(60 * _w.R.Next(8, learningMinutes - 4), early);

        // Long ones first, then the rest shuffled over the window, about evenly spaced.
        var window = attackMinutes * 60;
        var order = chosen.Where(a => a.Minutes > 4).Concat(chosen.Where(a => a.Minutes <= 4).OrderBy(_ => _w.R.Next())).ToList();
        var gap = (window - 180) / Math.Max(1, order.Count);
        for (var i = 0; i < order.Count; i++)
        {
            Add((normalMinutes * 60) + 60 + (i * gap) + _w.R.Next(0, Math.Max(1, gap / 3)), order[i]);
        }
    }

    private void Add(int second, AttackPlan plan)
    {
        if (!_at.TryGetValue(second, out var list))
        {
            _at[second] = list = [];
        }

        list.Add(plan);
    }

    public void Tick(int s, DateTimeOffset t)
    {
        if (_at.TryGetValue(s, out var plans))
        {
            foreach (var plan in plans)
            {
                plan.Run(t);
            }
        }
    }

    // ---------------------------------------------------------------- what the attacks share

    public void Label(string scenario, bool stealthy, Deployed d, IEnumerable<CorpusPod> pods, DateTimeOffset start, DateTimeOffset end, string description, params Deployed[] related) =>
        _w.Label(new CorpusLabel($"{scenario}-{d.W.Name}", stealthy ? "attack-stealthy" : "attack-new", d.Id, pods.Select(p => p.Name).Distinct().ToList(), start, end, description)
        {
            Related = related.Select(r => r.Id).Distinct().ToList(),
        });

    /// <summary>Running HTTP apps (the usual first foothold).</summary>
    public List<Deployed> Apps => _w.Workloads.Where(d => d.A.Offers.Contains("http") && d.Running.Any()).ToList();

    public List<Deployed> With(params string[] keys) => _w.Workloads.Where(d => keys.Contains(d.A.Key) && d.Running.Any()).ToList();

    public CorpusPod PodOf(Deployed d) => _w.Pick(d.Running.ToList());

    /// <summary>A target among those attacked least so far (attacks spread over the cluster, not all on one app).</summary>
    public T Choose<T>(IReadOnlyList<T> candidates, Func<T, Deployed> workload)
    {
        var hits = candidates.Select(c => _w.Labels.Count(l => l.Kind.StartsWith("attack", StringComparison.Ordinal) && l.Workload == workload(c).Id)).ToList();
        var fewest = hits.Min();
        return _w.Pick(candidates.Where((_, i) => hits[i] == fewest).ToList());
    }

    public Deployed Choose(IReadOnlyList<Deployed> candidates) => Choose(candidates, d => d);

    /// <summary>A program started by <paramref name="parent"/>; it exits after <paramref name="ms"/> unless that is 0.</summary>
    public Proc Run(CorpusPod pod, Proc parent, string line, DateTimeOffset t, int ms = 20)
    {
        var (bin, args) = Kubelet.Split(line);
        var p = _w.Spawn(pod, bin, args, t, parent, parent.Uid, parent.Cwd);
        _w.Exec(p);
        if (ms > 0)
        {
            _w.Exit(p, t.AddMilliseconds(ms));
        }

        return p;
    }

    /// <summary>Runs each line in turn, a few seconds apart (someone typing); returns when the last ended.</summary>
    public DateTimeOffset Type(CorpusPod pod, Proc shell, DateTimeOffset t, params string[] lines)
    {
        foreach (var line in lines)
        {
            Run(pod, shell, line, t, 15 + _w.R.Next(0, 200));
            t = t.AddSeconds(2 + _w.R.Next(0, 5));
        }

        return t;
    }

    /// <summary>A connection to an address outside the cluster that no name led to, with bytes sent on it.</summary>
    public void Connect(CorpusPod pod, Proc p, string ip, int port, DateTimeOffset t, long sent) =>
        _w.Net.External(pod, p, new Peer { Host = ip, Ips = [ip], Port = port }, t, sent);

    /// <summary><c>security_path_truncate(const struct path *path)</c>, as Tetragon's file-monitoring example hooks it.</summary>
    public void Truncate(Proc p, DateTimeOffset t, string path) =>
        _w.Tetragon(t, Kprobe(p, ClusterWorld.NodeOf(p), t, "security_path_truncate", "file-monitoring", w => PathArg(w, path)));

    private static void PathArg(Utf8JsonWriter w, string path)
    {
        w.WriteStartObject();
        w.WriteStartObject("path_arg");
        w.WriteString("path", path);
        w.WriteString("permission", "-rw-r-----");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The runtime binary an app's processes are (what a disguised miner names itself after).</summary>
    public static string RuntimeName(Deployed d) => Path.GetFileName(d.Running.First().Processes[^1].Binary);
}
