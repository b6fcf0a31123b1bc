using System.Globalization;
using System.Text;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A labelled stream of a cluster shaped differently for every seed, as Tetragon, Hubble and Falco would export it,
/// written from the sensors' documented behaviour and from how the software behaves, never from what the detector does.
/// <para>
/// <b>Shape</b> (<see cref="ClusterShape"/>): kubeadm, EKS or AKS addressing; 3-6 nodes; 8-14 workloads from the
/// <see cref="Archetypes"/> catalogue (Go, Java/Spring Boot, Node.js, Ruby/Puma, PHP-FPM + nginx, Celery, an
/// HPA-scaled queue consumer, RabbitMQ, Redis, MySQL, MongoDB, Kafka, ingress-nginx, fluent-bit, Prometheus,
/// node-exporter, cert-manager, CronJobs, a migration Job, CoreDNS, istiod); replicas, namespaces, sidecars (Istio's
/// istio-proxy, a plain Envoy on 127.0.0.1:15001, PHP's nginx), peers in and outside the cluster, kube-proxy or
/// Cilium's socket LB, the users' time zone.
/// </para>
/// <para>
/// <b>Timeline</b>: Tetragon's procFS inventory at sensor start (processes dated at their real start, hours or days
/// earlier, with their parents: the pod's containerd shim for PID 1); <see cref="LearningMinutes"/> of learning (one
/// attack happens in it), then normal traffic with labelled churn up to <see cref="NormalMinutes"/>, then
/// <see cref="AttackMinutes"/> in which at least 8 attacks that do something new and 5 stealthy ones (only a rate, a
/// volume, a time or a direction changes) happen amid the same traffic and churn (<see cref="ClusterAttacks"/>).
/// Visitors arrive at a rate set per shape (<see cref="RecordsPerSecond"/>) times the load of the hour and of bursts.
/// One <see cref="Random"/> drawn from the seed makes every byte.
/// </para>
/// <para>
/// <b>Churn</b> (labelled <c>churn-*</c>): reschedule, node drain, rollout with its migration Job, OOM restart, HPA
/// scale-out and -in, ConfigMap update, DNS rotation, an operator's <c>kubectl exec</c>, certificate rotation, traffic
/// burst, token refreshes and CronJob runs. <b>New attacks</b> (pool of 16): ephemeral debug container, injected
/// exfiltrating sidecar, token theft through /proc/&lt;pid&gt;/root, cloud metadata credentials, container escape, reverse
/// shell from the JVM or node, disguised miner, log tampering, Celery pickle RCE, DNS tunnel from a sidecar, web shell
/// in PHP or Rails, database shell and dump, service-account API recon, package install and scan, ingress controller
/// RCE, SUID privilege escalation. <b>Stealthy</b> (pool of 9): 20-50 times a known service's rate, 20-50 times the
/// bytes to a known client, a slow scan of known peers, credential stuffing through the usual entry, the backup run at
/// an odd minute, gradual exfiltration to the usual sink, a known admin tool at an odd time, a reversed peer
/// direction, a once-a-minute beacon to a known SaaS API. docs/formats.md, "The cluster corpus", has the details.
/// </para>
/// </summary>
public sealed class ClusterCorpus
{
    public const int LearningMinutes = 30;
    public const int NormalMinutes = 60;
    public const int AttackMinutes = 30;
    public const double VisitsPerSecond = 0.3;

    /// <summary>
    /// Records a second the corpus aims at (about 80,000 in all with start-ups, churn and attacks): clusters differ in
    /// what one visit costs (PHP's FastCGI hop, a mesh's extra legs), so the visitors' rate is set per shape from a
    /// short dry run of the same seed (<see cref="CalibrationMinutes"/>), keeping evaluation to seconds.
    /// </summary>
    public const double RecordsPerSecond = 14;

    public const int CalibrationMinutes = 8;

    private readonly int _seed;
    private readonly ClusterWorld _w;
    private readonly ClusterChurn _churn;
    private readonly ClusterAttacks _attacks;
    private double? _visits;
    private string _shape = "";
    private long _visitRecords;
    private long _visitCount;

    public ClusterCorpus(int seed, DateTimeOffset start)
        : this(seed, start, null)
    {
    }

    private ClusterCorpus(int seed, DateTimeOffset start, double? visits)
    {
        _seed = seed;
        _visits = visits;
        _w = new ClusterWorld(seed, start) { LearningEnds = start.AddMinutes(LearningMinutes) };
        _churn = new ClusterChurn(_w);
        _attacks = new ClusterAttacks(_w);
    }

    /// <summary>The visitors' rate (at a load of 1) this shape gets.</summary>
    public double Visits => _visits ?? VisitsPerSecond;

    /// <summary>
    /// A dry run of the first minutes: what a visit costs here, and what everything else makes a second (measured
    /// from the fifth minute, once the first lookups and connections of every client are behind).
    /// </summary>
    private double Calibrate()
    {
        var dry = new ClusterCorpus(_seed, Start, VisitsPerSecond);
        long emitted = -1, visitRecords = 0, visitCount = 0;
        foreach (var (time, _, _) in dry.Generate())
        {
            if (emitted < 0 && time >= Start.AddMinutes(5))
            {
                (emitted, visitRecords, visitCount) = (dry._w.Emitted, dry._visitRecords, dry._visitCount);
            }

            if (time >= Start.AddMinutes(5 + CalibrationMinutes))
            {
                break;
            }
        }

        var seconds = CalibrationMinutes * 60.0;
        visitRecords = dry._visitRecords - visitRecords;
        visitCount = dry._visitCount - visitCount;
        var other = (dry._w.Emitted - emitted - visitRecords) / seconds;
        var perVisit = visitRecords / (double)Math.Max(1, visitCount);
        var load = visitCount / (seconds * VisitsPerSecond);
        return Math.Clamp((RecordsPerSecond - other) / Math.Max(1, perVisit) / Math.Max(0.2, load), 0.15, 3);
    }

    public IReadOnlyList<CorpusLabel> Labels => _w.Labels.OrderBy(l => l.Start).ToList();

    public DateTimeOffset Start => _w.Start;

    public DateTimeOffset LearningEnds => _w.LearningEnds;

    public DateTimeOffset AttacksStart => _w.Start.AddMinutes(NormalMinutes);

    public DateTimeOffset End => _w.Start.AddMinutes(NormalMinutes + AttackMinutes);

    /// <summary>The cluster this seed drew (available once <see cref="Generate"/> started).</summary>
    internal ClusterWorld World => _w;

    /// <summary>Every record of every sensor, in time order: (time, sensor, one JSON line).</summary>
    public IEnumerable<(DateTimeOffset Time, string Sensor, byte[] Json)> Generate()
    {
        _visits ??= Calibrate();
        _w.Visits = _visits.Value;
        _w.Net = new ClusterNet(_w, socketLb: _w.R.Next(2) == 0);
        _w.Kubelet = new Kubelet(_w);
        ClusterShape.Build(_w);
        foreach (var d in _w.Workloads.Where(d => d.W.Kind is not ("CronJob" or "Job")).ToList())
        {
            for (var i = 0; i < d.Replicas; i++)
            {
                _w.NewPod(d, Start.AddMinutes(-_w.R.Next(45, 60 * 24 * 12)), i, seen: false);
            }
        }

        _shape = Shape();
        _w.Kubelet.Inventory(Start);
        _churn.Plan(LearningMinutes, NormalMinutes, AttackMinutes);
        _attacks.Plan(LearningMinutes, NormalMinutes, AttackMinutes);
        var seconds = (NormalMinutes + AttackMinutes) * 60;
        for (var s = 0; s < seconds; s++)
        {
            var t = Start.AddSeconds(s);
            Second(s, t);
            foreach (var record in _w.Due(t.AddSeconds(1)))
            {
                yield return record;
            }
        }

        foreach (var record in _w.Due(DateTimeOffset.MaxValue))
        {
            yield return record;
        }
    }

    private void Second(int s, DateTimeOffset t)
    {
        Visitors(t);
        foreach (var d in _w.Workloads.ToList())
        {
            d.A.Schedule(_w, d, s, t);
            foreach (var pod in d.Running.ToList())
            {
                d.A.Tick(_w, d, pod, s, t);
                _w.Kubelet.Tick(d, pod, s, t);
                foreach (var other in _w.Runtime(pod).Others.Where(o => o.Alive).ToList())
                {
                    Sidecars.Tick(_w, d, pod, other, s, t);
                }
            }
        }

        if (_w.PhoneHome is { } home && s % 300 == 150 && home.App.Running.FirstOrDefault() is { } caller)
        {
            _w.Net.Blocked(caller, home.App.A.Worker(_w, home.App, caller), home.Home, _w.Jitter(t));
        }

        _churn.Tick(s, t);
        _attacks.Tick(s, t);
    }

    /// <summary>The internet's users: through the ingress when there is one, else the public app's LoadBalancer.</summary>
    private void Visitors(DateTimeOffset t)
    {
        var ingress = _w.Find("ingress-nginx");
        var before = _w.Emitted;
        var visits = _w.Poisson(_w.Visits * _w.Load(t));
        for (var i = 0; i < visits; i++)
        {
            var front = ingress ?? _w.Public[_w.R.Next(_w.Public.Count)];
            var pods = front.Running.ToList();
            if (pods.Count == 0)
            {
                continue;
            }

            var pod = _w.Pick(pods);
            var (ip, port) = Client();
            _w.Net.Visit(front, pod, ip, port, 1 + _w.Poisson(1.0), _w.Jitter(t));
            _visitCount++;
        }

        _visitRecords += _w.Emitted - before;
    }

    /// <summary>A visitor's address: a regular (some come often) or someone new; SNATed to a node by some load balancers.</summary>
    internal (string Ip, int Port) Client()
    {
        if (_w.ClientSnat)
        {
            return (_w.Pick(_w.Nodes).Ip, 32768 + _w.R.Next(0, 28_232));
        }

        var ip = _w.R.NextDouble() < 0.3 ? $"{_w.R.Next(1, 223)}.{_w.R.Next(0, 256)}.{_w.R.Next(0, 256)}.{_w.R.Next(1, 255)}" : _w.Clients[(int)(_w.Clients.Count * Math.Pow(_w.R.NextDouble(), 2.5))];
        // Linux clients use 32768-60999, Windows and macOS 49152-65535.
        var port = _w.R.NextDouble() < 0.45 ? 32768 + _w.R.Next(0, 28_232) : 49152 + _w.R.Next(0, 16_384);
        return (ip, port);
    }

    /// <summary>Writes <c>tetragon.jsonl</c>, <c>hubble.jsonl</c>, <c>falco.jsonl</c> and <c>labels.json</c>.</summary>
    public static async Task<(long Records, ClusterCorpus Corpus)> WriteAsync(string directory, int seed, DateTimeOffset start, CancellationToken ct)
    {
        var corpus = new ClusterCorpus(seed, start);
        var n = await CorpusFiles.WriteAsync(directory, "cluster", seed, corpus.Generate(), () => new(corpus.Start, corpus.LearningEnds, corpus.AttacksStart, corpus.End), () => corpus.Labels, ct).ConfigureAwait(false);
        return (n, corpus);
    }

    /// <summary>The cluster this seed drew (as it stood when the sensor started), one workload a line.</summary>
    public string DescribeShape() => _shape;

    private string Shape()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"cluster: {_w.Flavor.Name}, {_w.Nodes.Count} nodes, {_w.Workloads.Count} workloads, Service translation by {(_w.Net.SocketLb ? "Cilium's socket LB" : "kube-proxy")}, {Visits:0.00} visits/s at full load");
        foreach (var d in _w.Workloads)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {d.Id,-52} {d.A.Key,-15} replicas {d.Replicas}{(d.Sidecar is { } s ? ", sidecar " + s : "")}{(_w.Public.Contains(d) ? ", public" : "")}");
        }

        return sb.ToString();
    }
}
