using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>The shop's workloads doing their ordinary work, second by second.</summary>
public sealed partial class ShopCorpus
{
    private void Frontend(DateTimeOffset t)
    {
        var w = W("frontend");
        foreach (var pod in w.Running.ToList())
        {
            var nginx = pod.Processes[1 + _r.Next(pod.Processes.Count - 1)];
            if (_r.NextDouble() < 0.35)
            {
                // A visitor through the LoadBalancer (client address preserved): accept, serve a file, respond, close.
                var at = Jitter(t);
                var client = _clients[_r.Next(_clients.Length)];
                var conn = new Sock("tcp", pod.Ip, 8080, client, 40000 + _r.Next(20000), "TCP_ESTABLISHED");
                Emit(at, "tetragon", Kprobe(nginx, pod.Node.Name, at, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 8080, "0.0.0.0", 0, "TCP_LISTEN")), conn));
                var asset = _r.Next(10) switch
                {
                    < 3 => "/usr/share/nginx/html/index.html",
                    < 6 => "/usr/share/nginx/html/assets/app.3f9c1e7a.js",
                    < 8 => "/usr/share/nginx/html/assets/app.91ab2c04.css",
                    _ => "/usr/share/nginx/html/favicon.ico",
                };
                Emit(at.AddMilliseconds(1), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(1), "security_file_permission", "file-monitoring", FileArgs(asset, false)));
                if (_r.NextDouble() < 0.6)
                {
                    ApiCall(pod, nginx, at.AddMilliseconds(2));
                }

                Emit(at.AddMilliseconds(9), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(9), "tcp_sendmsg", "network-observability", SockArgs(conn, 2000 + _r.Next(60_000))));
                Emit(at.AddMilliseconds(12), "tetragon", Kprobe(nginx, pod.Node.Name, at.AddMilliseconds(12), "tcp_close", "network-observability", SockArgs(conn)));
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
        var conn = new Sock("tcp", pod.Ip, port, pod.Node.Ip, 40000 + _r.Next(20000), "TCP_ESTABLISHED");
        var at = t.AddMilliseconds(_r.Next(1000));
        Emit(at, "tetragon", Kprobe(server, pod.Node.Name, at, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", port, "0.0.0.0", 0, "TCP_LISTEN")), conn));
        Emit(at.AddMilliseconds(2), "tetragon", Kprobe(server, pod.Node.Name, at.AddMilliseconds(2), "tcp_sendmsg", "network-observability", SockArgs(conn, 180)));
        Emit(at.AddMilliseconds(3), "tetragon", Kprobe(server, pod.Node.Name, at.AddMilliseconds(3), "tcp_close", "network-observability", SockArgs(conn)));
    }

    private readonly Dictionary<(string, string), Sock> _pools = [];

    /// <summary>
    /// A request over a pooled connection to a Service (kube-proxy DNAT: the client connects to the ClusterIP, the server
    /// accepts from the client pod's address). A new connection (first use, or the pool recycling it) shows the
    /// client's tcp_connect and the server's inet_csk_accept; every request then shows both sides' tcp_sendmsg.
    /// </summary>
    private void Call(CorpusPod client, Proc clientProc, CorpusWorkload service, DateTimeOffset t, long request, long response, double recycle = 0.02)
    {
        var server = service.Running.ElementAt(_r.Next(service.Running.Count()));
        var serverProc = server.Main;
        var key = (client.Name + "/" + clientProc.Pid, service.Name);
        if (!_pools.TryGetValue(key, out var conn) || _r.NextDouble() < recycle || !service.Running.Any(p => p.Ip == conn.Daddr || service.ServiceIp == conn.Daddr))
        {
            if (_pools.TryGetValue(key, out var old))
            {
                Emit(t, "tetragon", Kprobe(clientProc, client.Node.Name, t, "tcp_close", "network-observability", SockArgs(old)));
            }

            conn = new Sock("tcp", client.Ip, client.EphemeralPort(), service.ServiceIp!, service.ServicePort, "TCP_SYN_SENT");
            _pools[key] = conn;
            Emit(t, "tetragon", Kprobe(clientProc, client.Node.Name, t, "tcp_connect", "network-observability", SockArgs(conn)));
            var accepted = new Sock("tcp", server.Ip, service.ServicePort, client.Ip, conn.Sport, "TCP_ESTABLISHED");
            Emit(t.AddMilliseconds(1), "tetragon", Kprobe(serverProc, server.Node.Name, t.AddMilliseconds(1), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", service.ServicePort, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
        }

        var live = conn with { State = "TCP_ESTABLISHED" };
        Emit(t.AddMilliseconds(1), "tetragon", Kprobe(clientProc, client.Node.Name, t.AddMilliseconds(1), "tcp_sendmsg", "network-observability", SockArgs(live, request)));
        var reply = new Sock("tcp", server.Ip, service.ServicePort, client.Ip, conn.Sport, "TCP_ESTABLISHED");
        Emit(t.AddMilliseconds(3), "tetragon", Kprobe(serverProc, server.Node.Name, t.AddMilliseconds(3), "tcp_sendmsg", "network-observability", SockArgs(reply, response)));
    }

    private void ApiCall(CorpusPod frontend, Proc nginx, DateTimeOffset t)
    {
        Call(frontend, nginx, W("api"), t, 400 + _r.Next(800), 0, 0.03);
        var api = W("api").Running.ElementAt(_r.Next(W("api").Running.Count()));
        var worker = api.Processes[1 + _r.Next(api.Processes.Count - 1)];
        Call(api, worker, W("postgres"), t.AddMilliseconds(2), 200 + _r.Next(400), 300 + _r.Next(6000), 0.004);
        if (_r.NextDouble() < 0.5)
        {
            Call(api, worker, W("redis"), t.AddMilliseconds(3), 60, 120 + _r.Next(400), 0.004);
        }

        if (_r.NextDouble() < 0.04)
        {
            Payment(api, worker, t.AddMilliseconds(4), 2_000 + _r.Next(3_000));
        }

        if (_r.NextDouble() < 0.1)
        {
            var tmp = $"/tmp/wsgi-{Token(8)}.tmp";
            Emit(t.AddMilliseconds(5), "tetragon", Kprobe(worker, api.Node.Name, t.AddMilliseconds(5), "security_file_permission", "file-monitoring", FileArgs(tmp, true)));
        }

        if (_r.NextDouble() < 0.02)
        {
            // Invoice rendering: gunicorn runs the PDF helper now and then.
            Helper(api, worker, t.AddMilliseconds(6));
        }
    }

    private void Helper(CorpusPod api, Proc worker, DateTimeOffset t)
    {
        var helper = Spawn(api, "/usr/bin/pdftotext", "-layout /tmp/invoice.pdf -", t, worker, 1000, "/app");
        Emit(t, "tetragon", Exec(helper, api.Node.Name, t));
        Emit(t.AddMilliseconds(2), "tetragon", Kprobe(helper, api.Node.Name, t.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/tmp/invoice.pdf", false)));
        Emit(t.AddMilliseconds(40), "tetragon", SensorJson.Exit(helper, api.Node.Name, t.AddMilliseconds(40)));
    }

    /// <summary>A lookup through the cluster DNS: the client's datagram to the DNS Service, and Cilium's DNS proxy flows.</summary>
    private void Resolve(CorpusPod client, Proc proc, string name, IReadOnlyList<string> ips, DateTimeOffset t)
    {
        var dnsPods = W("coredns").Running.ToList();
        var dns = dnsPods[_r.Next(dnsPods.Count)];
        var port = client.EphemeralPort();
        Emit(t, "tetragon", Kprobe(proc, client.Node.Name, t, "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", client.Ip, port, "10.96.0.10", 53, ""), 40 + name.Length)));
        Emit(t, "hubble", HubbleDns(client, dns, client.Node.Name, t, name, port, false, []));
        Emit(t.AddMilliseconds(1), "hubble", HubbleDns(client, dns, client.Node.Name, t.AddMilliseconds(1), name, port, true, ips));
        Emit(t.AddMilliseconds(1), "tetragon", Kprobe(dns.Main, dns.Node.Name, t.AddMilliseconds(1), "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", dns.Ip, 53, client.Ip, port, ""), 60 + (ips.Count * 16))));
    }

    /// <summary>A call to the payment provider: resolved by name (its addresses move), then HTTPS to one of them.</summary>
    private void Payment(CorpusPod api, Proc worker, DateTimeOffset t, long bytes)
    {
        Resolve(api, worker, "api.paygate.example", _paygate, t);
        External(api, worker, _paygate[_r.Next(_paygate.Length)], 443, t.AddMilliseconds(3), bytes, 4_000);
    }

    private void External(CorpusPod pod, Proc proc, string ip, int port, DateTimeOffset t, long sent, long received)
    {
        var conn = new Sock("tcp", pod.Ip, pod.EphemeralPort(), ip, port, "TCP_SYN_SENT");
        Emit(t, "tetragon", Kprobe(proc, pod.Node.Name, t, "tcp_connect", "network-observability", SockArgs(conn)));
        var live = conn with { State = "TCP_ESTABLISHED" };
        for (var sentSoFar = 0L; sentSoFar < sent; sentSoFar += 65_536)
        {
            var at = t.AddMilliseconds(5 + (sentSoFar / 65_536));
            Emit(at, "tetragon", Kprobe(proc, pod.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(live, Math.Min(65_536, sent - sentSoFar))));
        }

        var end = t.AddMilliseconds(20 + (sent / 65_536));
        Emit(end, "tetragon", Kprobe(proc, pod.Node.Name, end, "tcp_close", "network-observability", SockArgs(live)));
    }

    private void Api(int s, DateTimeOffset t)
    {
        foreach (var pod in W("api").Running)
        {
            if (s % 10 == (pod.EndpointId % 10))
            {
                Probe(pod, pod.Processes[1], t, 8000);
            }

            if (s % 60 == (pod.EndpointId % 60))
            {
                // The ORM resolves its database and cache by name when it refreshes connections.
                var worker = pod.Processes[1 + _r.Next(pod.Processes.Count - 1)];
                Resolve(pod, worker, "postgres.data.svc.cluster.local", [W("postgres").ServiceIp!], Jitter(t));
                Resolve(pod, worker, "redis.data.svc.cluster.local", [W("redis").ServiceIp!], Jitter(t));
                Emit(Jitter(t), "tetragon", Kprobe(worker, pod.Node.Name, Jitter(t), "security_file_permission", "file-monitoring", FileArgs("/etc/ssl/certs/ca-certificates.crt", false)));
                Emit(Jitter(t), "tetragon", Kprobe(worker, pod.Node.Name, Jitter(t), "security_file_permission", "file-monitoring", FileArgs("/app/shop/templates/invoice.html", false)));
            }
        }
    }

    private void Worker(int s, DateTimeOffset t)
    {
        foreach (var pod in W("worker").Running)
        {
            var java = pod.Main;
            if (s % 2 == 0)
            {
                // Polls the job queue.
                Call(pod, java, W("redis"), Jitter(t), 90, 40 + (_r.NextDouble() < 0.1 ? 900 : 0), 0.001);
            }

            if (_r.NextDouble() < 0.08)
            {
                Call(pod, java, W("postgres"), Jitter(t), 300 + _r.Next(500), 200, 0.002);
            }

            if (s % 180 == 90)
            {
                // Order confirmation mails through the provider's SMTP relay.
                Resolve(pod, java, "smtp.mailrelay.example", ["192.0.2.25", "192.0.2.26"], Jitter(t));
                External(pod, java, _r.NextDouble() < 0.5 ? "192.0.2.25" : "192.0.2.26", 587, Jitter(t).AddMilliseconds(5), 12_000, 800);
            }

            if (s % 20 == 7)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(java, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/tmp/hsperfdata_worker/1", true)));
            }

            if (s % 600 == 300)
            {
                // The Kubernetes client re-lists its ConfigMaps.
                External(pod, java, "10.96.0.1", 443, Jitter(t), 800, 12_000);
                Emit(Jitter(t), "falco", Falco("Contact K8S API Server From Container", "Notice", "Unexpected connection to K8s API Server from container", Jitter(t), pod.Node.Name, FalcoFields(pod, java, "10.96.0.1:443", $"{pod.Ip}:{pod.EphemeralPort()}->10.96.0.1:443", "connect"), "k8s", "network", "container", "mitre_discovery"));
            }
        }
    }

    private Dictionary<string, object?> FalcoFields(CorpusPod pod, Proc p, string? target, string? fd, string evtType) => new()
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
        foreach (var pod in W("postgres").Running)
        {
            var backend = pod.Processes[0];
            if (_r.NextDouble() < 0.5)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(backend, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + _r.Next(300)}", _r.NextDouble() < 0.3)));
            }

            if (s % 5 == 0)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Processes[2], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/pg_wal/0000000100000004000000{(s / 600) + 16:X2}", true)));
            }

            if (s % 300 == 150)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Processes[1], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/var/lib/postgresql/data/global/pg_control", true)));
            }

            if (s % 60 == 20)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Processes[3], pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + _r.Next(300)}_vm", false)));
                Probe(pod, backend, t, 5432);
            }
        }
    }

    private void Redis(int s, DateTimeOffset t)
    {
        foreach (var pod in W("redis").Running)
        {
            var redis = pod.Main;
            var at = Jitter(t);
            Emit(at, "tetragon", Kprobe(redis, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/data/appendonly.aof", true)));
            if (s % 900 == 450)
            {
                // BGSAVE: a forked child writes a temporary dump and renames it.
                var child = Spawn(pod, "/usr/local/bin/redis-server", "*:6379", at, redis, 999, "/data", "clone");
                Emit(at.AddMilliseconds(1), "tetragon", Kprobe(child, pod.Node.Name, at.AddMilliseconds(1), "security_file_permission", "file-monitoring", FileArgs($"/data/temp-{child.Pid}.rdb", true)));
                Emit(at.AddMilliseconds(300), "tetragon", SensorJson.Exit(child, pod.Node.Name, at.AddMilliseconds(300)));
            }

            if (s % 15 == 3)
            {
                Probe(pod, redis, t, 6379);
            }
        }
    }

    private void CoreDns(int s, DateTimeOffset t)
    {
        foreach (var pod in W("coredns").Running)
        {
            if (s % 7 == (pod.EndpointId % 7))
            {
                // Forwarding an external name upstream.
                var at = Jitter(t);
                var port = pod.EphemeralPort();
                var upstream = _r.NextDouble() < 0.5 ? "1.1.1.1" : "8.8.8.8";
                Emit(at, "tetragon", Kprobe(pod.Main, pod.Node.Name, at, "udp_sendmsg", "network-observability", SockArgs(new Sock("udp", pod.Ip, port, upstream, 53, ""), 50)));
            }

            if (s % 10 == 5)
            {
                Probe(pod, pod.Main, t, 8080);
            }

            if (s % 300 == 100)
            {
                External(pod, pod.Main, "10.96.0.1", 443, Jitter(t), 600, 4_000);
            }

            if (s % 30 == 12)
            {
                var at = Jitter(t);
                Emit(at, "tetragon", Kprobe(pod.Main, pod.Node.Name, at, "security_file_permission", "file-monitoring", FileArgs("/etc/coredns/Corefile", false)));
            }
        }
    }

    private void KubeProxy(int s, DateTimeOffset t)
    {
        foreach (var pod in W("kube-proxy").Running)
        {
            if (s % 30 == (pod.EndpointId % 30))
            {
                // Periodic sync: iptables-restore under the xtables lock.
                var at = Jitter(t);
                var restore = Spawn(pod, "/usr/sbin/iptables-restore", "-w 5 -W 100000 --noflush --counters", at, pod.Main, 0);
                Emit(at, "tetragon", Exec(restore, pod.Node.Name, at));
                Emit(at.AddMilliseconds(2), "tetragon", Kprobe(restore, pod.Node.Name, at.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/run/xtables.lock", true)));
                Emit(at.AddMilliseconds(60), "tetragon", SensorJson.Exit(restore, pod.Node.Name, at.AddMilliseconds(60)));
            }

            if (s % 120 == (pod.EndpointId % 120))
            {
                External(pod, pod.Main, "172.18.0.2", 6443, Jitter(t), 400, 8_000);
            }
        }
    }

    /// <summary>The backup CronJob: a short-lived pod dumps the database, compresses it and uploads it to S3.</summary>
    private void BackupRun(DateTimeOffset t, int minute, int scale = 1, string? scenario = null)
    {
        var w = W("backup");
        var pod = NewPod(w, t, 0);
        var shell = Spawn(pod, "/bin/sh", "-c pg_dump -h postgres.data.svc.cluster.local -U backup shop | gzip > /backup/shop.sql.gz && aws s3 cp /backup/shop.sql.gz s3://acme-backups/shop/", t, null, 1000, "/backup");
        pod.Processes.Add(shell);
        Emit(t, "tetragon", Exec(shell, pod.Node.Name, t));
        var dump = Spawn(pod, "/usr/lib/postgresql/16/bin/pg_dump", "-h postgres.data.svc.cluster.local -U backup shop", t.AddMilliseconds(20), shell, 1000, "/backup");
        var gzip = Spawn(pod, "/bin/gzip", "", t.AddMilliseconds(21), shell, 1000, "/backup");
        Emit(t.AddMilliseconds(20), "tetragon", Exec(dump, pod.Node.Name, t.AddMilliseconds(20)));
        Emit(t.AddMilliseconds(21), "tetragon", Exec(gzip, pod.Node.Name, t.AddMilliseconds(21)));
        Resolve(pod, dump, "postgres.data.svc.cluster.local", [W("postgres").ServiceIp!], t.AddMilliseconds(25));
        Call(pod, dump, W("postgres"), t.AddMilliseconds(30), 600, 0, 1);
        var pg = W("postgres").Running.First();
        for (var i = 0; i < 20 * scale; i++)
        {
            var at = t.AddMilliseconds(40 + (i * 150));
            Emit(at, "tetragon", Kprobe(pg.Main, pg.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(new Sock("tcp", pg.Ip, 5432, pod.Ip, 40000 + minute, "TCP_ESTABLISHED"), 65_536)));
        }

        var written = t.AddSeconds(4 * scale);
        Emit(written, "tetragon", Kprobe(gzip, pod.Node.Name, written, "security_file_permission", "file-monitoring", FileArgs($"/backup/shop-{t:yyyyMMddHHmm}.sql.gz", true)));
        Emit(written.AddMilliseconds(5), "tetragon", SensorJson.Exit(dump, pod.Node.Name, written.AddMilliseconds(5)));
        Emit(written.AddMilliseconds(6), "tetragon", SensorJson.Exit(gzip, pod.Node.Name, written.AddMilliseconds(6)));
        var aws = Spawn(pod, "/usr/local/bin/python3.12", "/usr/local/bin/aws s3 cp /backup/shop.sql.gz s3://acme-backups/shop/", written.AddMilliseconds(10), shell, 1000, "/backup");
        Emit(aws.Start, "tetragon", Exec(aws, pod.Node.Name, aws.Start));
        Emit(aws.Start.AddMilliseconds(30), "tetragon", Kprobe(aws, pod.Node.Name, aws.Start.AddMilliseconds(30), "security_file_permission", "file-monitoring", FileArgs("/backup/.aws/credentials", false)));
        Resolve(pod, aws, "acme-backups.s3.eu-west-1.amazonaws.com", _s3.OrderBy(_ => _r.Next()).Take(2).ToList(), aws.Start.AddMilliseconds(40));
        External(pod, aws, _s3[_r.Next(_s3.Length)], 443, aws.Start.AddMilliseconds(50), 1_200_000L * scale, 2_000);
        var done = aws.Start.AddSeconds(3 + (2 * scale));
        Emit(done, "tetragon", SensorJson.Exit(aws, pod.Node.Name, done));
        Emit(done.AddMilliseconds(5), "tetragon", SensorJson.Exit(shell, pod.Node.Name, done.AddMilliseconds(5)));
        pod.Alive = false;
        if (t >= LearningEnds)
        {
            _labels.Add(new CorpusLabel(scenario ?? $"cronjob-backup-{minute}", scenario is null ? "benign-churn" : "attack-stealthy", w.Id, [pod.Name], t, done, scenario is null ? "scheduled backup run (a new short-lived pod)" : "the backup job copies 20 times its usual volume to its usual bucket")
            {
                Related = [W("postgres").Id],
            });
        }
    }
}
