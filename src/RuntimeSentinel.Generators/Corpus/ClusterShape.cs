using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>The archetype catalogue, by name: adding one is a file and a line here.</summary>
internal static class Archetypes
{
    public static readonly IReadOnlyList<Archetype> All =
    [
        new GoService(), new SpringBoot(), new NodeWeb(), new RubyPuma(), new PhpFpm(), new CeleryWorker(), new QueueConsumer(),
        new RabbitMq(), new RedisStore(), new MySqlDb(), new MongoDb(), new KafkaBroker(), new IngressNginx(), new FluentBit(),
        new PrometheusServer(), new NodeExporter(), new CertManager(), new CronTask(), new MigrationJob(), new CoreDnsServer(), new Istiod(),
    ];

    public static Archetype Get(string key) => All.First(a => a.Key == key);
}

/// <summary>
/// Chooses one seed's cluster: the flavour (kubeadm, EKS, AKS), 3-6 nodes, 8-14 workloads drawn from the catalogue
/// (always CoreDNS; 2-4 HTTP apps in other languages, 1-3 data stores, workers, infrastructure), their names,
/// namespaces, replicas, which of them carry a sidecar (Istio, a plain Envoy, PHP's nginx), whom each talks to (peers in
/// the cluster, or managed services and SaaS APIs outside it), whether kube-proxy or Cilium's socket LB translates
/// Service addresses, where the users are (their time of day) and how the load balancer shows their addresses.
/// </summary>
internal static class ClusterShape
{
    private static readonly string[] AppNamespaces = ["shop", "payments", "platform", "apps", "web", "backend", "frontend", "orders"];

    public static bool Build(ClusterWorld w)
    {
        var r = w.R;
        w.Flavor = ClusterFlavor.All[r.Next(ClusterFlavor.All.Count)];
        var nodes = r.Next(3, 7);
        for (var i = 0; i < nodes; i++)
        {
            var name = w.Flavor.NodeName(r, i);
            var booted = w.Start.AddDays(-r.Next(3, 40)).AddMinutes(-r.Next(0, 1440));
            var pid = 700 + r.Next(0, 600);
            w.Nodes.Add(new CorpusNode
            {
                Name = name,
                Ip = w.Flavor.NodeIp(name, i),
                PodPrefix = w.Flavor.PodPrefix(i, r),
                // The node's containerd: parent of every pod's shim.
                Shim = new Proc { Pid = pid, Binary = "/usr/bin/containerd", Start = booted, ExecId = ExecId(name, booted, pid) },
                NextHostPid = 200_000 + r.Next(0, 700_000),
            });
        }

        // Which software this cluster runs.
        var picks = new List<string> { "coredns" };
        var apps = new[] { "go-http", "go-http", "spring-boot", "node-web", "puma", "php-fpm" }.OrderBy(_ => r.Next()).Take(r.Next(2, 5)).ToList();
        if (!apps.Contains("spring-boot") && !apps.Contains("node-web"))
        {
            apps[0] = r.Next(2) == 0 ? "spring-boot" : "node-web";
        }

        var stores = new[] { "redis", "rabbitmq", "mysql", "mongodb", "kafka" }.OrderBy(_ => r.Next()).Take(r.Next(1, 4)).ToList();
        var workers = new[] { "celery-worker", "queue-consumer" }.OrderBy(_ => r.Next()).Take(r.Next(0, 3)).ToList();
        var infra = new[] { "ingress-nginx", "fluent-bit", "prometheus", "node-exporter", "cert-manager", "cronjob", "cronjob", "job" }.OrderBy(_ => r.Next()).ToList();
        picks.AddRange(apps.Distinct().Concat(apps.GroupBy(a => a).Where(g => g.Count() > 1).Select(g => g.Key)));
        picks.AddRange(stores);
        picks.AddRange(workers);
        if (workers.Contains("celery-worker") && !stores.Contains("redis") && !stores.Contains("rabbitmq"))
        {
            picks.Add(r.Next(2) == 0 ? "redis" : "rabbitmq");
        }

        var total = r.Next(8, 15);
        var meshMode = r.Next(3) switch { 0 => null, 1 => "istio-proxy", _ => "envoy" };

        foreach (var i in infra)
        {
            if (picks.Count + (meshMode == "istio-proxy" ? 1 : 0) >= total && picks.Count >= 8)
            {
                break;
            }

            picks.Add(i);
        }

        var appNs = AppNamespaces.OrderBy(_ => r.Next()).Take(r.Next(1, 4)).ToList();
        var serviceIps = new HashSet<string>(StringComparer.Ordinal) { w.Flavor.ApiServer, w.Flavor.Dns };
        var identity = 12_000 + r.Next(0, 5_000);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in picks)
        {
            var a = Archetypes.Get(key);
            var name = a.Names.OrderBy(_ => r.Next()).FirstOrDefault(n => !names.Contains(n)) ?? $"{a.Names[0]}-{names.Count}";
            var ns = a.Offers.Contains("http") || key is "celery-worker" or "queue-consumer"
                ? (a.Namespaces.Intersect(appNs).ToList() is { Count: > 0 } both ? w.Pick(both) : w.Pick(appNs))
                : a.Offers.Any(o => o is "sql" or "doc" or "cache" or "broker" or "stream") && r.NextDouble() < 0.3 ? appNs[0] : w.Pick(a.Namespaces);
            if (key == "job")
            {
                continue; // a migration Job belongs to an app: made below once the apps are known
            }

            Add(w, a, name, ns, r.Next(0, a.Variants), serviceIps, ref identity, names);
        }

        var http = w.Workloads.Where(d => d.A.Offers.Contains("http")).ToList();
        w.Public.AddRange(http.Where(d => d.A.Key is "node-web" or "puma" or "php-fpm").Take(2));
        if (w.Public.Count == 0 || (r.NextDouble() < 0.5 && http.Count > w.Public.Count))
        {
            w.Public.Add(http.First(d => !w.Public.Contains(d)));
        }

        if (picks.Contains("job") && w.Workloads.FirstOrDefault(d => d.A.Needs.Contains("sql") && d.A.Offers.Contains("http")) is { } owner)
        {
            var job = Add(w, Archetypes.Get("job"), $"{owner.W.Name}-migrate-{r.Next(11, 60)}", owner.W.Namespace, 0, serviceIps, ref identity, names);
            job.Peers["owner"] = new Peer { Service = owner };
            job.RunAt = 60 * r.Next(4, 20);
        }

        Peers(w, http);
        Mesh(w, meshMode);
        if (w.Workloads.Any(d => d.Sidecar == "istio-proxy"))
        {
            Add(w, Archetypes.Get("istiod"), "istiod", "istio-system", 0, serviceIps, ref identity, names);
        }

        // The internet's visitors: a few thousand addresses, some of them regulars.
        for (var i = 0; i < 2_500; i++)
        {
            w.Clients.Add($"{r.Next(1, 223)}.{r.Next(0, 256)}.{r.Next(0, 256)}.{r.Next(1, 255)}");
        }

        if (r.NextDouble() < 0.7 && http.Count > 0)
        {
            // An SDK's telemetry or an update check that the namespace's default-deny egress policy drops.
            var home = w.Pick([("telemetry.vendor-sdk.example", 443), ("updates.license-server.example", 443), ("api.segment.io", 443), ("o4504.ingest.sentry.io", 443)]);
            w.PhoneHome = (w.Pick(http), new Peer { Host = home.Item1, Ips = [$"3.{r.Next(64, 127)}.{r.Next(0, 256)}.{r.Next(1, 255)}"], Port = home.Item2, Ttl = 60 });
        }

        w.ClientSnat = !w.Workloads.Any(d => d.A.Key == "ingress-nginx") && r.NextDouble() < 0.5;
        var zone = new[] { -5, 0, 1, 8, 9 }[r.Next(5)];
        w.Load = t => Math.Max(0.15, 0.55 + (0.45 * Math.Cos(2 * Math.PI * (t.UtcDateTime.TimeOfDay.TotalHours + zone - 15) / 24))) * w.Burst(t);
        return meshMode is not null;
    }

    private static Deployed Add(ClusterWorld w, Archetype a, string name, string ns, int variant, HashSet<string> serviceIps, ref int identity, HashSet<string> names)
    {
        names.Add(name);
        string? serviceIp = null;
        if (a.Key == "coredns")
        {
            serviceIp = w.Flavor.Dns;
        }
        else if (a.Port > 0 && a.Kind != "DaemonSet")
        {
            do
            {
                serviceIp = $"{w.Flavor.ServicePrefix}{w.R.Next(1, 255)}.{w.R.Next(2, 255)}";
            }
            while (!serviceIps.Add(serviceIp));
        }

        var labels = a.Labels(name, variant);
        labels["app"] = name;
        var (min, max) = a.Replicas;
        var d = new Deployed
        {
            W = new CorpusWorkload
            {
                Namespace = ns,
                Name = name,
                Kind = a.Kind,
                Container = a.Container(name, variant),
                Image = a.Image(name, variant, w.Flavor),
                Digest = w.Digest(),
                Labels = labels,
                Identity = identity++,
                ServiceIp = serviceIp,
                ServicePort = a.ServicePort,
                HostNetwork = a.HostNetwork,
            },
            A = a,
            Variant = variant,
            Replicas = a.Kind == "DaemonSet" ? w.Nodes.Count : w.R.Next(min, max + 1),
            Rate = 0.6 + w.R.NextDouble(),
            ConfigMount = a.ConfigMount(name),
            ConfigFile = a.ConfigFile,
            ConfigDir = w.AtomicDir(w.Start.AddDays(-w.R.Next(1, 20)).AddSeconds(-w.R.Next(0, 86_400))),
            Every = new[] { 2, 3, 5, 10 }[w.R.Next(4)],
            Offset = w.R.Next(0, 10),
        };
        w.Workloads.Add(d);
        return d;
    }

    /// <summary>Whom each workload talks to: a peer in the cluster when one offers the role, else a service outside.</summary>
    private static void Peers(ClusterWorld w, List<Deployed> http)
    {
        // One peer object per outside name: everyone who uses it sees its addresses move together.
        var outside = new Dictionary<string, Peer>(StringComparer.Ordinal);
        var order = w.Public.Concat(http.Where(h => !w.Public.Contains(h))).ToList();
        foreach (var d in w.Workloads)
        {
            foreach (var need in d.A.Needs)
            {
                var role = need.TrimEnd('?');
                if (role == "http")
                {
                    // East-west calls go down the chain (front ends to back ends), never back up.
                    var later = order.SkipWhile(o => o != d).Skip(1).ToList();
                    var target = later.Count > 0 ? w.Pick(later) : d.A.Key == "cronjob" && order.Count > 0 ? order[0] : null;
                    if (target is not null)
                    {
                        d.Peers[need] = new Peer { Service = target };
                    }

                    continue;
                }

                var inside = w.Workloads.Where(o => o != d && role.Split('|').Any(o.A.Offers.Contains)).ToList();
                if (inside.Count > 0)
                {
                    d.Peers[need] = new Peer { Service = w.Pick(inside) };
                }
                else if (!need.EndsWith('?'))
                {
                    var peer = Outside(w, role.Split('|')[0], d);
                    d.Peers[need] = outside.TryAdd(peer.Host, peer) ? peer : outside[peer.Host];
                }
            }
        }
    }

    private static Peer Outside(ClusterWorld w, string role, Deployed d)
    {
        var f = w.Flavor.Name;
        string[] Ips(string prefix, int n) => Enumerable.Range(0, n).Select(_ => $"{prefix}{w.R.Next(1, 255)}.{w.R.Next(1, 255)}").ToArray();
        return role switch
        {
            "sql" => f == "eks" ? new Peer { Host = $"{d.W.Namespace}-db.cluster-c9akciq32xyz.eu-west-1.rds.amazonaws.com", Ips = Ips("10.0.", 1), Port = 3306, Ttl = 5, Idle = 1800 }
                : f == "aks" ? new Peer { Host = $"{d.W.Namespace}-db.mysql.database.azure.com", Ips = Ips("20.50.", 1), Port = 3306, Ttl = 30, Idle = 1800 }
                : new Peer { Host = "db01.internal.example", Ips = ["192.168.20.15"], Port = 3306, Ttl = 300, Idle = 1800 },
            "doc" => new Peer { Host = "cluster0-shard-00-01.ab1cd.mongodb.net", Ips = Ips("34.246.", 1), Port = 27017, Ttl = 60, Idle = 1800 },
            "cache" => new Peer { Host = f == "eks" ? "app-cache.x1y2z3.ng.0001.euw1.cache.amazonaws.com" : "redis.internal.example", Ips = f == "eks" ? Ips("10.0.", 1) : ["192.168.20.30"], Port = 6379, Ttl = 15, Idle = 1800 },
            "broker" => f == "eks" ? new Peer { Host = "sqs.eu-west-1.amazonaws.com", Ips = Ips("52.94.", 3), Port = 443, Ttl = 60 } : new Peer { Host = "rabbit.internal.example", Ips = ["192.168.20.35"], Port = 5672, Ttl = 300, Idle = 1800 },
            "stream" => new Peer { Host = "pkc-41wq6.eu-west-1.aws.confluent.cloud", Ips = Ips("54.77.", 3), Port = 9092, Ttl = 60, Idle = 1800 },
            "objectstore" => f == "aks" ? new Peer { Host = "acmeprod.blob.core.windows.net", Ips = Ips("20.60.", 1), Port = 443, Ttl = 60 }
                : f == "eks" || w.R.Next(2) == 0 ? new Peer { Host = $"acme-{d.W.Namespace}.s3.eu-west-1.amazonaws.com", Ips = Ips("52.218.", 4), Port = 443, Ttl = 5 }
                : new Peer { Host = "minio.internal.example", Ips = ["192.168.20.40"], Port = 9000, Ttl = 300, Idle = 30 },
            "logsink" => w.Pick([new Peer { Host = "http-intake.logs.datadoghq.eu", Ips = Ips("34.107.", 2), Port = 443, Ttl = 300, Idle = 300 }, new Peer { Host = "logs-prod-eu-west-0.grafana.net", Ips = Ips("34.120.", 1), Port = 443, Ttl = 300, Idle = 300 }]),
            "acme" => new Peer { Host = "acme-v02.api.letsencrypt.org", Ips = ["172.65.32.248"], Port = 443, Ttl = 300 },
            "dnsapi" => new Peer { Host = "api.cloudflare.com", Ips = ["104.19.192.29", "104.19.193.29"], Port = 443, Ttl = 300 },
            _ => w.Pick([
                new Peer { Host = "api.stripe.com", Ips = Ips("54.187.", 3), Port = 443, Ttl = 60 }, new Peer { Host = "api.sendgrid.com", Ips = Ips("167.89.", 2), Port = 443, Ttl = 300 },
                new Peer { Host = "hooks.slack.com", Ips = Ips("34.232.", 2), Port = 443, Ttl = 60 }, new Peer { Host = "maps.googleapis.com", Ips = Ips("142.250.", 1), Port = 443, Ttl = 300 },
                new Peer { Host = "api.twilio.com", Ips = Ips("54.172.", 2), Port = 443, Ttl = 60 }]),
        };
    }

    /// <summary>Sidecars: Istio injects a namespace's HTTP apps; a plain Envoy fronts one or two apps; PHP has its nginx.</summary>
    private static void Mesh(ClusterWorld w, string? mode)
    {
        var apps = w.Workloads.Where(d => d.A.Meshable).ToList();
        var meshed = mode switch
        {
            "istio-proxy" => apps.Where(d => d.W.Namespace == apps[0].W.Namespace).ToList(),
            "envoy" => apps.OrderBy(_ => w.R.Next()).Take(w.R.Next(1, 3)).ToList(),
            _ => [],
        };
        if (meshed.Count == 0 && !w.Workloads.Any(d => d.A.Key == "php-fpm") && apps.Count > 0)
        {
            (mode, meshed) = ("envoy", [apps[^1]]);
        }

        foreach (var d in w.Workloads)
        {
            d.Sidecar = d.A.Key == "php-fpm" ? "nginx" : meshed.Contains(d) ? mode : null;
        }
    }
}
