using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// The shop's workloads doing their ordinary work, second by second, and the ways they talk: pooled connections to
/// Services, lookups through the cluster DNS, calls outside the cluster, the kubelet's probes, the backup CronJob.
/// The attacks use the same calls, so what they do looks like the workloads' own traffic.
/// </summary>
internal sealed class ShopWorkloads(ShopCluster cluster)
{
    // The shop's visitors, drawn when the corpus is made (before the cluster is built).
    private readonly string[] _clients = Enumerable.Range(0, 400).Select(_ => $"{cluster.Random.Next(1, 223)}.{cluster.Random.Next(0, 256)}.{cluster.Random.Next(0, 256)}.{cluster.Random.Next(1, 255)}").ToArray();
    private readonly string[] _s3 = ["52.218.48.17", "52.218.52.9", "52.218.61.140"];
    private readonly Dictionary<(string, string), Sock> _pools = [];

    /// <summary>One second of every long-running workload's behaviour.</summary>
    public void Second(int s, DateTimeOffset t)
    {
        Frontend(t);
        Api(s, t);
        Worker(s, t);
        Postgres(s, t);
        Redis(s, t);
        CoreDns(s, t);
        KubeProxy(s, t);
    }

    /// <summary>The backup CronJob's schedule: every 15 minutes from minute 5.</summary>
    public void CronJobs(int s, DateTimeOffset t)
    {
        var minute = s / 60;
        if (s % 60 == 0 && minute % 15 == 5 && minute != 80)
        {
            // (At minute 80 the attacker's run replaces the scheduled one.)
            BackupRun(t, minute);
        }
    }

    private void Frontend(DateTimeOffset t)
    {
        var w = cluster.W("frontend");
        foreach (var pod in w.Running.ToList())
        {
            var nginx = pod.Processes[1 + cluster.Random.Next(pod.Processes.Count - 1)];
            if (cluster.Random.NextDouble() < 0.35)
            {
                // A visitor through the LoadBalancer (client address preserved): accept, serve a file, respond, close.
                var at = cluster.Jitter(t);
                var client = _clients[cluster.Random.Next(_clients.Length)];
                var conn = new Sock("tcp", pod.Ip, 8080, client, 40000 + cluster.Random.Next(20000), "TCP_ESTABLISHED");
                cluster.Emit(at, "tetragon", Kprobe(nginx, pod.Node.Name, at, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 8080, "0.0.0.0", 0, "TCP_LISTEN")), conn));
                var asset = cluster.Random.Next(10) switch
                {
                    < 3 => "/usr/share/nginx/html/index.html",
                    < 6 => "/usr/share/nginx/html/assets/app.3f9c1e7a.js",
                    < 8 => "/usr/share/nginx/html/assets/app.91ab2c04.css",
                    _ => "/usr/share/nginx/html/favicon.ico",
                };
                cluster.Emit(at.AddMilliseconds(1), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(1), "security_file_permission", "file-monitoring", FileArgs(asset, false)));
                if (cluster.Random.NextDouble() < 0.6)
                {
                    ApiCall(pod, nginx, at.AddMilliseconds(2));
                }

                cluster.Emit(at.AddMilliseconds(9), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(9), "tcp_sendmsg", "network-observability", SockArgs(conn, 2000 + cluster.Random.Next(60_000))));
                cluster.Emit(at.AddMilliseconds(12), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(12), "tcp_close", "network-observability", SockArgs(conn)));
            }

            if (t.Second % 10 == (pod.EndpointId % 10))
            {
                Probe(pod, nginx, t, 8080);
            }
        }
    }

    /// <summary>The kubelet's HTTP probe: a connection from the node to the container's port.</summary>
    private void Probe(CorpusPod pod, Proc server, DateTimeOffset t, int port)
    {
        var conn = new Sock("tcp", pod.Ip, port, pod.Node.Ip, 40000 + cluster.Random.Next(20000), "TCP_ESTABLISHED");
        var at = t.AddMilliseconds(cluster.Random.Next(1000));
        cluster.Emit(at, "tetragon", Kprobe(server, pod.Node.Name, at, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", port, "0.0.0.0", 0, "TCP_LISTEN")), conn));
        cluster.Emit(at.AddMilliseconds(2), "tetragon", Kprobe(server, pod.Node.Name, at.AddMilliseconds(2), "tcp_sendmsg", "network-observability", SockArgs(conn, 180)));
        cluster.Emit(at.AddMilliseconds(3), "tetragon", Kprobe(server, pod.Node.Name, at.AddMilliseconds(3), "tcp_close", "network-observability", SockArgs(conn)));
    }

    /// <summary>
    /// A request over a pooled connection to a Service (kube-proxy DNAT: the client connects to the ClusterIP, the server
    /// accepts from the client pod's address). A new connection (first use, or the pool recycling it) shows the
    /// client's tcp_connect and the server's inet_csk_accept; every request then shows both sides' tcp_sendmsg.
    /// </summary>
    private void Call(CorpusPod client, Proc clientProc, CorpusWorkload service, DateTimeOffset t, long request, long response, double recycle = 0.02)
    {
        var server = service.Running.ElementAt(cluster.Random.Next(service.Running.Count()));
        var serverProc = server.Main;
        var key = (client.Name + "/" + clientProc.Pid, service.Name);
        if (!_pools.TryGetValue(key, out var conn) || cluster.Random.NextDouble() < recycle || !service.Running.Any(p => p.Ip == conn.Daddr || service.ServiceIp == conn.Daddr))
        {
            if (_pools.TryGetValue(key, out var old))
            {
                cluster.Emit(t, "tetragon", Kprobe(clientProc, client.Node.Name, t, "tcp_close", "network-observability", SockArgs(old)));
            }

            conn = new Sock("tcp", client.Ip, client.EphemeralPort(), service.ServiceIp!, service.ServicePort, "TCP_SYN_SENT");
            _pools[key] = conn;
            cluster.Emit(t, "tetragon", Kprobe(clientProc, client.Node.Name, t, "tcp_connect", "network-observability", SockArgs(conn)));
            var accepted = new Sock("tcp", server.Ip, service.ServicePort, client.Ip, conn.Sport, "TCP_ESTABLISHED");
            cluster.Emit(t.AddMilliseconds(1), "tetragon", Kprobe(serverProc, server.Node.Name, t.AddMilliseconds(1), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", service.ServicePort, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
        }

        var live = conn with { State = "TCP_ESTABLISHED" };
        cluster.Emit(t.AddMilliseconds(1), "tetragon", Kprobe(clientProc, client.Node.Name, t.AddMilliseconds(1), "tcp_sendmsg", "network-observability", SockArgs(live, request)));
        var reply = new Sock("tcp", server.Ip, service.ServicePort, client.Ip, conn.Sport, "TCP_ESTABLISHED");
        cluster.Emit(t.AddMilliseconds(3), "tetragon", Kprobe(serverProc, server.Node.Name, t.AddMilliseconds(3), "tcp_sendmsg", "network-observability", SockArgs(reply, response)));
    }

    private void ApiCall(CorpusPod frontend, Proc nginx, DateTimeOffset t)
    {
        Call(frontend, nginx, cluster.W("api"), t, 400 + cluster.Random.Next(800), 0, 0.03);
        var api = cluster.W("api").Running.ElementAt(cluster.Random.Next(cluster.W("api").Running.Count()));
        var worker = api.Processes[1 + cluster.Random.Next(api.Processes.Count - 1)];
        Call(api, worker, cluster.W("postgres"), t.AddMilliseconds(2), 200 + cluster.Random.Next(400), 300 + cluster.Random.Next(6000), 0.004);
        if (cluster.Random.NextDouble() < 0.5)
        {
            Call(api, worker, cluster.W("redis"), t.AddMilliseconds(3), 60, 120 + cluster.Random.Next(400), 0.004);
        }

        if (cluster.Random.NextDouble() < 0.04)
        {
            Payment(api, worker, t.AddMilliseconds(4), 2_000 + cluster.Random.Next(3_000));
        }

        if (cluster.Random.NextDouble() < 0.1)
        {
            var tmp = $"/tmp/wsgi-{cluster.Token(8)}.tmp";
            cluster.Emit(t.AddMilliseconds(5), "tetragon", Kprobe(worker, api.Node.Name, t.AddMilliseconds(5), "security_file_permission", "file-monitoring", FileArgs(tmp, true)));
        }

        if (cluster.Random.NextDouble() < 0.02)
        {
            // Invoice rendering: gunicorn runs the PDF helper now and then.
            Helper(api, worker, t.AddMilliseconds(6));
        }
    }

    public void Helper(CorpusPod api, Proc worker, DateTimeOffset t)
    {
        var helper = cluster.Spawn(api, "/usr/bin/pdftotext", "-layout /tmp/invoice.pdf -", t, worker, 1000, "/app");
        cluster.Emit(t, "tetragon", Exec(helper, api.Node.Name, t));
        cluster.Emit(t.AddMilliseconds(2), "tetragon", Kprobe(helper, api.Node.Name, t.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/tmp/invoice.pdf", false)));
        cluster.Emit(t.AddMilliseconds(40), "tetragon", SensorJson.Exit(helper, api.Node.Name, t.AddMilliseconds(40)));
    }

    /// <summary>A lookup through the cluster DNS: the client's datagram to the DNS Service, and Cilium's DNS proxy flows.</summary>
    public void Resolve(CorpusPod client, Proc proc, string name, IReadOnlyList<string> ips, DateTimeOffset t)
    {
        var dnsPods = cluster.W("coredns").Running.ToList();
        var dns = dnsPods[cluster.Random.Next(dnsPods.Count)];
        var port = client.EphemeralPort();
        cluster.Emit(t, "tetragon", Kprobe(proc, client.Node.Name, t, "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", client.Ip, port, "10.96.0.10", 53, ""), 40 + name.Length)));
        cluster.Emit(t, "hubble", HubbleDns(client, dns, client.Node.Name, t, name, port, false, []));
        cluster.Emit(t.AddMilliseconds(1), "hubble", HubbleDns(client, dns, client.Node.Name, t.AddMilliseconds(1), name, port, true, ips));
        cluster.Emit(t.AddMilliseconds(1), "tetragon", Kprobe(dns.Main, dns.Node.Name, t.AddMilliseconds(1), "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", dns.Ip, 53, client.Ip, port, ""), 60 + (ips.Count * 16))));
    }

    /// <summary>A call to the payment provider: resolved by name (its addresses move), then HTTPS to one of them.</summary>
    private void Payment(CorpusPod api, Proc worker, DateTimeOffset t, long bytes)
    {
        Resolve(api, worker, "api.paygate.example", cluster.Paygate, t);
        External(api, worker, cluster.Paygate[cluster.Random.Next(cluster.Paygate.Length)], 443, t.AddMilliseconds(3), bytes, 4_000);
    }

    public void External(CorpusPod pod, Proc proc, string ip, int port, DateTimeOffset t, long sent, long received)
    {
        var conn = new Sock("tcp", pod.Ip, pod.EphemeralPort(), ip, port, "TCP_SYN_SENT");
        cluster.Emit(t, "tetragon", Kprobe(proc, pod.Node.Name, t, "tcp_connect", "network-observability", SockArgs(conn)));
        var live = conn with { State = "TCP_ESTABLISHED" };
        for (var sentSoFar = 0L; sentSoFar < sent; sentSoFar += 65_536)
        {
            var at = t.AddMilliseconds(5 + (sentSoFar / 65_536));
            cluster.Emit(at, "tetragon", Kprobe(proc, pod.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(live, Math.Min(65_536, sent - sentSoFar))));
        }

        var end = t.AddMilliseconds(20 + (sent / 65_536));
        cluster.Emit(end, "tetragon", Kprobe(proc, pod.Node.Name, end, "tcp_close", "network-observability", SockArgs(live)));
    }

    private void Api(int s, DateTimeOffset t)
    {
        foreach (var pod in cluster.W("api").Running)
        {
            if (s % 10 == (pod.EndpointId % 10))
            {
                Probe(pod, pod.Processes[1], t, 8000);
            }

            if (s % 60 == (pod.EndpointId % 60))
            {
                // The ORM resolves its database and cache by name when it refreshes connections.
                var worker = pod.Processes[1 + cluster.Random.Next(pod.Processes.Count - 1)];
                Resolve(pod, worker, "postgres.data.svc.cluster.local", [cluster.W("postgres").ServiceIp!], cluster.Jitter(t));
                Resolve(pod, worker, "redis.data.svc.cluster.local", [cluster.W("redis").ServiceIp!], cluster.Jitter(t));
                cluster.Emit(cluster.Jitter(t), "tetragon", Kprobe(worker, pod.Node.Name, cluster.Jitter(t), "security_file_permission", "file-monitoring", FileArgs("/etc/ssl/certs/ca-certificates.crt", false)));
                cluster.Emit(cluster.Jitter(t), "tetragon", Kprobe(worker, pod.Node.Name, cluster.Jitter(t), "security_file_permission", "file-monitoring", FileArgs("/app/shop/templates/invoice.html", false)));
            }
        }
    }

    private void Worker(int s, DateTimeOffset t)
    {
        foreach (var pod in cluster.W("worker").Running)
        {
            var java = pod.Main;
            if (s % 2 == 0)
            {
                // Polls the job queue.
                Call(pod, java, cluster.W("redis"), cluster.Jitter(t), 90, 40 + (cluster.Random.NextDouble() < 0.1 ? 900 : 0), 0.001);
            }

            if (cluster.Random.NextDouble() < 0.08)
            {
                Call(pod, java, cluster.W("postgres"), cluster.Jitter(t), 300 + cluster.Random.Next(500), 200, 0.002);
            }

            if (s % 180 == 90)
            {
                // Order confirmation mails through the provider's SMTP relay.
                Resolve(pod, java, "smtp.mailrelay.example", ["192.0.2.25", "192.0.2.26"], cluster.Jitter(t));
                External(pod, java, cluster.Random.NextDouble() < 0.5 ? "192.0.2.25" : "192.0.2.26", 587, cluster.Jitter(t).AddMilliseconds(5), 12_000, 800);
            }

            if (s % 20 == 7)
            {
                var at = cluster.Jitter(t);
                cluster.Emit(at, "tetragon", Kprobe(java, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/tmp/hsperfdata_worker/1", true)));
            }

            if (s % 600 == 300)
            {
                // The Kubernetes client re-lists its ConfigMaps.
                External(pod, java, "10.96.0.1", 443, cluster.Jitter(t), 800, 12_000);
                cluster.Emit(cluster.Jitter(t), "falco", Falco("Contact K8S API Server From Container", "Notice", "Unexpected connection to K8s API Server from container", cluster.Jitter(t), pod.Node.Name, FalcoFields(pod, java, "10.96.0.1:443", $"{pod.Ip}:{pod.EphemeralPort()}->10.96.0.1:443", "connect"), "k8s", "network", "container", "mitre_discovery"));
            }
        }
    }

    public Dictionary<string, object?> FalcoFields(CorpusPod pod, Proc p, string? target, string? fd, string evtType) => new()
    {
        ["container.id"] = pod.ContainerId["containerd://".Length..][..12],
        ["container.image.repository"] = pod.Image.Split(':')[0],
        ["container.image.tag"] = pod.Image.Split(':')[1],
        ["container.name"] = pod.Workload.Container,
        ["evt.type"] = evtType,
        ["fd.name"] = fd,
        ["k8s.ns.name"] = pod.Workload.Namespace,
        ["k8s.pod.name"] = pod.Name,
        ["proc.cmdline"] = $"{Path.GetFileName(p.Binary)} {p.Args}".Trim(),
        ["proc.exepath"] = p.Binary,
        ["proc.name"] = Path.GetFileName(p.Binary),
        ["proc.pid"] = p.Pid,
        ["proc.pname"] = p.Parent is { } parent ? Path.GetFileName(parent.Binary) : null,
        ["user.name"] = p.Uid == 0 ? "root" : "app",
        ["user.uid"] = p.Uid,
        ["fd.sip.name"] = target,
    };

    private void Postgres(int s, DateTimeOffset t)
    {
        foreach (var pod in cluster.W("postgres").Running)
        {
            var backend = pod.Processes[0];
            if (cluster.Random.NextDouble() < 0.5)
            {
                var at = cluster.Jitter(t);
                cluster.Emit(at, "tetragon", Kprobe(backend, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + cluster.Random.Next(300)}", cluster.Random.NextDouble() < 0.3)));
            }

            if (s % 5 == 0)
            {
                var at = cluster.Jitter(t);
                cluster.Emit(at, "tetragon", Kprobe(pod.Processes[2], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/pg_wal/0000000100000004000000{(s / 600) + 16:X2}", true)));
            }

            if (s % 300 == 150)
            {
                var at = cluster.Jitter(t);
                cluster.Emit(at, "tetragon", Kprobe(pod.Processes[1], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/var/lib/postgresql/data/global/pg_control", true)));
            }

            if (s % 60 == 20)
            {
                var at = cluster.Jitter(t);
                cluster.Emit(at, "tetragon", Kprobe(pod.Processes[3], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + cluster.Random.Next(300)}_vm", false)));
                Probe(pod, backend, t, 5432);
            }
        }
    }

    private void Redis(int s, DateTimeOffset t)
    {
        foreach (var pod in cluster.W("redis").Running)
        {
            var redis = pod.Main;
            var at = cluster.Jitter(t);
            cluster.Emit(at, "tetragon", Kprobe(redis, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/data/appendonly.aof", true)));
            if (s % 900 == 450)
            {
                // BGSAVE: a forked child writes a temporary dump and renames it.
                var child = cluster.Spawn(pod, "/usr/local/bin/redis-server", "*:6379", at, redis, 999, "/data", "clone");
                cluster.Emit(at.AddMilliseconds(1), "tetragon", Kprobe(child, pod.Node.Name, at.AddMilliseconds(1), "security_file_permission", "file-monitoring", FileArgs($"/data/temp-{child.Pid}.rdb", true)));
                cluster.Emit(at.AddMilliseconds(300), "tetragon", SensorJson.Exit(child, pod.Node.Name, at.AddMilliseconds(300)));
            }

            if (s % 15 == 3)
            {
                Probe(pod, redis, t, 6379);
            }
        }
    }

    private void CoreDns(int s, DateTimeOffset t)
    {
        foreach (var pod in cluster.W("coredns").Running)
        {
            if (s % 7 == (pod.EndpointId % 7))
            {
                // Forwarding an external name upstream.
                var at = cluster.Jitter(t);
                var port = pod.EphemeralPort();
                var upstream = cluster.Random.NextDouble() < 0.5 ? "1.1.1.1" : "8.8.8.8";
                cluster.Emit(at, "tetragon", Kprobe(pod.Main, pod.Node.Name, at, "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", pod.Ip, port, upstream, 53, ""), 50)));
            }

            if (s % 10 == 5)
            {
                Probe(pod, pod.Main, t, 8080);
            }

            if (s % 300 == 100)
            {
                External(pod, pod.Main, "10.96.0.1", 443, cluster.Jitter(t), 600, 4_000);
            }

            if (s % 30 == 12)
            {
                var at = cluster.Jitter(t);
                cluster.Emit(at, "tetragon", Kprobe(pod.Main, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/etc/coredns/Corefile", false)));
            }
        }
    }

    private void KubeProxy(int s, DateTimeOffset t)
    {
        foreach (var pod in cluster.W("kube-proxy").Running)
        {
            if (s % 30 == (pod.EndpointId % 30))
            {
                // Periodic sync: iptables-restore under the xtables lock.
                var at = cluster.Jitter(t);
                var restore = cluster.Spawn(pod, "/usr/sbin/iptables-restore", "-w 5 -W 100000 --noflush --counters", at, pod.Main, 0);
                cluster.Emit(at, "tetragon", Exec(restore, pod.Node.Name, at));
                cluster.Emit(at.AddMilliseconds(2), "tetragon", Kprobe(restore, pod.Node.Name, at.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/run/xtables.lock", true)));
                cluster.Emit(at.AddMilliseconds(60), "tetragon", SensorJson.Exit(restore, pod.Node.Name, at.AddMilliseconds(60)));
            }

            if (s % 120 == (pod.EndpointId % 120))
            {
                External(pod, pod.Main, "172.18.0.2", 6443, cluster.Jitter(t), 400, 8_000);
            }
        }
    }

    /// <summary>The backup CronJob: a short-lived pod dumps the database, compresses it and uploads it to S3.</summary>
    public void BackupRun(DateTimeOffset t, int minute, int scale = 1, string? scenario = null)
    {
        var w = cluster.W("backup");
        var pod = cluster.NewPod(w, t, 0);
        var shell = cluster.Spawn(pod, "/bin/sh", "-c pg_dump -h postgres.data.svc.cluster.local -U backup shop | gzip > /backup/shop.sql.gz && aws s3 cp /backup/shop.sql.gz s3://acme-backups/shop/", t, null, 1000, "/backup");
        pod.Processes.Add(shell);
        cluster.Emit(t, "tetragon", Exec(shell, pod.Node.Name, t));
        var dump = cluster.Spawn(pod, "/usr/lib/postgresql/16/bin/pg_dump", "-h postgres.data.svc.cluster.local -U backup shop", t.AddMilliseconds(20), shell, 1000, "/backup");
        var gzip = cluster.Spawn(pod, "/bin/gzip", "", t.AddMilliseconds(21), shell, 1000, "/backup");
        cluster.Emit(t.AddMilliseconds(20), "tetragon", Exec(dump, pod.Node.Name, t.AddMilliseconds(20)));
        cluster.Emit(t.AddMilliseconds(21), "tetragon", Exec(gzip, pod.Node.Name, t.AddMilliseconds(21)));
        Resolve(pod, dump, "postgres.data.svc.cluster.local", [cluster.W("postgres").ServiceIp!], t.AddMilliseconds(25));
        Call(pod, dump, cluster.W("postgres"), t.AddMilliseconds(30), 600, 0, 1);
        var pg = cluster.W("postgres").Running.First();
        for (var i = 0; i < 20 * scale; i++)
        {
            var at = t.AddMilliseconds(40 + (i * 150));
            cluster.Emit(at, "tetragon", Kprobe(pg.Main, pg.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(new Sock("tcp", pg.Ip, 5432, pod.Ip, 40000 + minute, "TCP_ESTABLISHED"), 65_536)));
        }

        var written = t.AddSeconds(4 * scale);
        cluster.Emit(written, "tetragon", Kprobe(gzip, pod.Node.Name, written, "security_file_permission", "file-monitoring", FileArgs($"/backup/shop-{t:yyyyMMddHHmm}.sql.gz", true)));
        cluster.Emit(written.AddMilliseconds(5), "tetragon", SensorJson.Exit(dump, pod.Node.Name, written.AddMilliseconds(5)));
        cluster.Emit(written.AddMilliseconds(6), "tetragon", SensorJson.Exit(gzip, pod.Node.Name, written.AddMilliseconds(6)));
        var aws = cluster.Spawn(pod, "/usr/local/bin/python3.12", "/usr/local/bin/aws s3 cp /backup/shop.sql.gz s3://acme-backups/shop/", written.AddMilliseconds(10), shell, 1000, "/backup");
        cluster.Emit(aws.Start, "tetragon", Exec(aws, pod.Node.Name, aws.Start));
        cluster.Emit(aws.Start.AddMilliseconds(30), "tetragon", Kprobe(aws, pod.Node.Name, aws.Start.AddMilliseconds(30), "security_file_permission", "file-monitoring", FileArgs("/backup/.aws/credentials", false)));
        Resolve(pod, aws, "acme-backups.s3.eu-west-1.amazonaws.com", _s3.OrderBy(_ => cluster.Random.Next()).Take(2).ToList(), aws.Start.AddMilliseconds(40));
        External(pod, aws, _s3[cluster.Random.Next(_s3.Length)], 443, aws.Start.AddMilliseconds(50), 1_200_000L * scale, 2_000);
        var done = aws.Start.AddSeconds(3 + (2 * scale));
        cluster.Emit(done, "tetragon", SensorJson.Exit(aws, pod.Node.Name, done));
        cluster.Emit(done.AddMilliseconds(5), "tetragon", SensorJson.Exit(shell, pod.Node.Name, done.AddMilliseconds(5)));
        pod.Alive = false;
        if (t >= cluster.LearningEnds)
        {
            cluster.Labels.Add(new CorpusLabel(scenario ?? $"cronjob-backup-{minute}", scenario is null ? "benign-churn" : "attack-stealthy", w.Id, [pod.Name], t, done, scenario is null ? "scheduled backup run (a new short-lived pod)" : "the backup job copies 20 times its usual volume to its usual bucket")
            {
                Related = [cluster.W("postgres").Id],
            });
        }
    }
}
