using System.Globalization;
using System.Text;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A realistic, labelled stream of a small shop on a 3-node cluster, as the sensors would export it: Tetragon with
/// the usual network-observability policy (<c>tcp_connect</c>, <c>tcp_sendmsg</c>, <c>tcp_close</c>,
/// <c>inet_csk_accept</c>, <c>udp_sendmsg</c>), file and credential kprobes and its procFS inventory at sensor start;
/// Hubble L7 DNS flows (Cilium's DNS proxy, with the answers' addresses); and a few Falco alerts. Written from the
/// sensors' documented behaviour and from how the workloads behave (nginx, gunicorn, a Java worker, PostgreSQL,
/// Redis, a backup CronJob, CoreDNS, kube-proxy), never from what the detector does.
/// <para>
/// <see cref="NormalMinutes"/> of normal traffic with ordinary churn (a rolling update with a new image digest, an HPA
/// scale-up, CronJob runs, a container restart, pod IP churn, a DNS name whose addresses move between networks, a
/// CoreDNS pod replaced), then <see cref="AttackMinutes"/> in which 13 labelled attacks happen amid the same normal
/// traffic: 7 that do something the workload never does and 6 stealthy ones that only change rate, volume, ports or
/// time. Two more do not wait for that window: a web shell while the workloads still learn, and a privilege
/// escalation two minutes into the rolling update. Deterministic for a seed.
/// </para>
/// <para>
/// The parts are separate rooms over one <see cref="ShopCluster"/>: <see cref="ShopWorkloads"/> (ordinary work),
/// <see cref="ShopChurn"/> (benign change) and <see cref="ShopAttacks"/>. Each second they act in that order, which
/// fixes the order they draw from the one random source, and so the bytes a seed gives.
/// </para>
/// </summary>
public sealed class ShopCorpus
{
    public const int NormalMinutes = 60;
    public const int AttackMinutes = 30;

    private readonly ShopCluster _cluster;
    private readonly ShopWorkloads _workloads;
    private readonly ShopChurn _churn;
    private readonly ShopAttacks _attacks;

    public ShopCorpus(int seed, DateTimeOffset start)
    {
        _cluster = new ShopCluster(seed, start);
        _workloads = new ShopWorkloads(_cluster);
        _churn = new ShopChurn(_cluster);
        _attacks = new ShopAttacks(_cluster, _workloads);
    }

    public IReadOnlyList<CorpusLabel> Labels => _cluster.Labels;

    public DateTimeOffset Start => _cluster.Start;

    public DateTimeOffset LearningEnds => _cluster.LearningEnds;

    public DateTimeOffset AttacksStart => Start.AddMinutes(NormalMinutes);

    public DateTimeOffset End => Start.AddMinutes(NormalMinutes + AttackMinutes);

    /// <summary>Every record of every sensor, in time order: (time, sensor, one JSON line).</summary>
    public IEnumerable<(DateTimeOffset Time, string Sensor, byte[] Json)> Generate()
    {
        _cluster.Build();
        _cluster.Inventory();
        var seconds = (NormalMinutes + AttackMinutes) * 60;
        for (var s = 0; s < seconds; s++)
        {
            var t = Start.AddSeconds(s);
            _workloads.Second(s, t);
            _churn.Second(s, t);
            _attacks.Second(s, t);
            _workloads.CronJobs(s, t);
            while (_cluster.TryTake(t.AddSeconds(1), out var record))
            {
                yield return record;
            }
        }

        while (_cluster.TryTake(DateTimeOffset.MaxValue, out var record))
        {
            yield return record;
        }
    }

    /// <summary>Writes <c>tetragon.jsonl</c>, <c>hubble.jsonl</c>, <c>falco.jsonl</c> and <c>labels.json</c>.</summary>
    public static async Task<(long Records, IReadOnlyList<CorpusLabel> Labels)> WriteAsync(string directory, int seed, DateTimeOffset start, CancellationToken ct)
    {
        var corpus = new ShopCorpus(seed, start);
        var n = await CorpusFiles.WriteAsync(directory, "shop", seed, corpus.Generate(), () => new(corpus.Start, corpus.LearningEnds, corpus.AttacksStart, corpus.End), () => corpus.Labels, ct).ConfigureAwait(false);
        return (n, corpus.Labels);
    }

    /// <summary>One line per labelled scenario (either corpus's labels), as the corpus command prints them.</summary>
    public static string Describe(IReadOnlyList<CorpusLabel> labels)
    {
        var sb = new StringBuilder();
        foreach (var l in labels)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{l.Start:HH:mm:ss}-{l.End:HH:mm:ss} {l.Kind,-16} {l.Scenario,-34} {l.Workload}");
        }

        return sb.ToString();
    }
}
