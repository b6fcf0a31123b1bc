namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Benign churn, each labelled <c>churn-&lt;what&gt;</c>: a pod rescheduled to another node, a node drained, a rolling
/// update to a new image digest (with its migration Job), a container restarted after an OOM kill, an HPA scaling out
/// and back in, a ConfigMap updated through the atomic writer, a SaaS name's addresses moving, an operator's
/// <c>kubectl exec</c> running a harmless diagnostic, a certificate rotated, a traffic burst. (Token refreshes and
/// CronJob runs happen on their own schedule and are labelled where they happen.) Which ones, on what, and when is
/// drawn per seed.
/// </summary>
internal sealed class ClusterChurn(ClusterWorld w)
{
    private readonly SortedDictionary<int, List<Action<DateTimeOffset>>> _at = [];

    public void Plan(int learningMinutes, int normalMinutes, int attackMinutes)
    {
        var pool = new List<(string Name, Action<DateTimeOffset> Act)>
        {
            ("reschedule", Reschedule), ("reschedule", Reschedule), ("node-drain", Drain), ("rollout", Rollout), ("rollout", Rollout),
            ("oom-restart", OomRestart), ("hpa", Hpa), ("configmap", ConfigMap), ("dns-rotation", DnsRotation), ("admin", Admin),
            ("cert-rotation", CertRotation), ("reschedule", Reschedule), ("oom-restart", OomRestart), ("configmap", ConfigMap), ("admin", Admin),
        };
        var order = pool.OrderBy(_ => w.R.Next()).ToList();
        var learning = learningMinutes * 60;
        var normal = normalMinutes * 60;
        var total = (normalMinutes + attackMinutes) * 60;
        var i = 0;
        foreach (var (_, act) in order.Take(2))
        {
            Schedule(300 + (i++ * 600) + w.R.Next(0, 300), act);
        }

        // The drain and the rollouts belong to the normal window; the rest spread over both windows after learning.
        foreach (var (name, act) in order.Skip(2))
        {
            var from = name is "node-drain" ? learning + 300 : learning + 60;
            var until = name is "node-drain" or "rollout" ? normal - 120 : total - 180;
            Schedule(w.R.Next(from, until), act);
        }

        var burst = w.R.Next(learning + 120, normal - 300);
        Schedule(burst, t => Burst(t, 150 + w.R.Next(0, 120), 1.8 + w.R.NextDouble()));
        if (w.R.Next(2) == 0)
        {
            Schedule(w.R.Next(normal + 60, total - 300), t => Burst(t, 120 + w.R.Next(0, 120), 1.6 + w.R.NextDouble()));
        }
    }

    private void Schedule(int second, Action<DateTimeOffset> act)
    {
        if (!_at.TryGetValue(second, out var list))
        {
            _at[second] = list = [];
        }

        list.Add(act);
    }

    public void Tick(int s, DateTimeOffset t)
    {
        if (_at.TryGetValue(s, out var acts))
        {
            foreach (var act in acts)
            {
                act(t);
            }
        }
    }

    private void Label(string what, Deployed d, IEnumerable<CorpusPod> pods, DateTimeOffset start, DateTimeOffset end, string description, params Deployed[] related) =>
        w.Label(new CorpusLabel($"{what}-{d.W.Name}-{(int)(start - w.Start).TotalMinutes}", "churn-" + what, d.Id, pods.Select(p => p.Name).Distinct().ToList(), start, end, description)
        {
            Related = related.Select(r => r.Id).ToList(),
        });

    /// <summary>One of the workloads churned least so far: churn spreads over the cluster as it does in real ones.</summary>
    private Deployed Least(IReadOnlyList<Deployed> candidates)
    {
        var hits = candidates.Select(d => w.Labels.Count(l => l.Workload == d.Id && l.Kind.StartsWith("churn-", StringComparison.Ordinal) && l.Kind is not ("churn-token-refresh" or "churn-cronjob" or "churn-traffic-burst"))).ToList();
        var fewest = hits.Min();
        return w.Pick(candidates.Where((_, i) => hits[i] == fewest).ToList());
    }

    private List<Deployed> Movable => w.Workloads.Where(d => d.W.Kind is "Deployment" or "StatefulSet" && d.Running.Any()).ToList();

    /// <summary>Endpoints changed: the ingress re-syncs its balancer, istiod pushes to the proxies.</summary>
    private void Endpoints(DateTimeOffset t)
    {
        IngressNginx.Sync(w, t);
        if (w.Find("istiod") is not null)
        {
            Istiod.Push(w, t);
        }
    }

    /// <summary>A pod replaced: the old one stops, the new one starts on another node with a new address (its name kept by a StatefulSet).</summary>
    public CorpusPod Move(Deployed d, CorpusPod old, DateTimeOffset t, CorpusNode? avoid = null)
    {
        w.Stop(old, t);
        var ordinal = d.W.Kind == "StatefulSet" && int.TryParse(old.Name[(old.Name.LastIndexOf('-') + 1)..], out var o) ? o : 0;
        var node = w.PlaceOn(d, ordinal, avoid ?? old.Node);
        var pod = w.NewPod(d, t.AddSeconds(3 + w.R.Next(0, 6)), ordinal, seen: true, on: node, name: d.W.Kind == "StatefulSet" ? old.Name : null);
        Endpoints(t.AddSeconds(10));
        return pod;
    }

    private void Reschedule(DateTimeOffset t)
    {
        var d = Least(Movable);
        var old = w.Pick(d.Running.ToList());
        var pod = Move(d, old, t);
        Label("reschedule", d, [old, pod], t, t.AddMinutes(3), $"pod {old.Name} deleted and recreated on {pod.Node.Name} (new container id and address, the start-up again)");
    }

    private void Drain(DateTimeOffset t)
    {
        var node = w.Pick(w.Nodes);
        w.Drained.Add(node.Name);
        var at = t;
        foreach (var d in Movable)
        {
            var moved = new List<CorpusPod>();
            foreach (var old in d.Running.Where(p => p.Node == node).ToList())
            {
                moved.Add(old);
                moved.Add(Move(d, old, at, node));
                at = at.AddSeconds(4 + w.R.Next(0, 8));
            }

            if (moved.Count > 0)
            {
                Label("node-drain", d, moved, t, at.AddMinutes(3), $"node {node.Name} drained for maintenance: its pods evicted and started elsewhere");
            }
        }

        // Back in service for new pods once its maintenance is done.
        Schedule((int)(at - w.Start).TotalSeconds + 900, _ => w.Drained.Remove(node.Name));
    }

    private void Rollout(DateTimeOffset t)
    {
        var apps = Movable.Where(d => d.W.Kind == "Deployment" && d.A.Offers.Contains("http")).ToList();
        if (apps.Count == 0)
        {
            return;
        }

        var d = Least(apps);
        var at = t;
        if (w.Workloads.FirstOrDefault(j => j.A.Key == "job" && j.Peers.TryGetValue("owner", out var o) && o.Service == d) is { } job)
        {
            // The release's pre-upgrade hook: a new migration Job (a new workload name) runs first.
            var next = new Deployed
            {
                W = new CorpusWorkload { Namespace = job.W.Namespace, Name = job.W.Name[..(job.W.Name.LastIndexOf('-') + 1)] + (int.Parse(job.W.Name[(job.W.Name.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture) + 1), Kind = "Job", Container = job.W.Container, Image = job.W.Image, Digest = w.Digest(), Labels = job.W.Labels, Identity = job.W.Identity + 1 },
                A = job.A,
            };
            foreach (var (k, v) in job.Peers)
            {
                next.Peers[k] = v;
            }

            w.Workloads.Add(next);
            var (pod, end) = MigrationJob.Run(w, next, t);
            w.Label(new CorpusLabel($"job-{next.W.Name}", "churn-job", next.Id, [pod.Name], t, end.AddMinutes(1), "the release's migration Job (a Helm pre-upgrade hook: a new Job, so a new workload name)") { Related = Archetype.Use(next, "sql")?.Service is { } db ? [db.Id] : [] });
            at = end.AddSeconds(5);
        }

        var tag = d.W.Image[(d.W.Image.LastIndexOf(':') + 1)..];
        d.W.Image = d.W.Image[..(d.W.Image.LastIndexOf(':') + 1)] + tag + "-1";
        d.W.Digest = w.Digest();
        var pods = new List<CorpusPod>();
        foreach (var old in d.Running.ToList())
        {
            // maxSurge 1, maxUnavailable 0: a new pod, ready after its probes pass, then an old one goes.
            var pod = w.NewPod(d, at, 0, seen: true);
            pods.Add(pod);
            w.Stop(old, at.AddSeconds(20 + w.R.Next(0, 10)));
            Endpoints(at.AddSeconds(20));
            at = at.AddSeconds(25 + w.R.Next(0, 15));
        }

        Label("rollout", d, pods, t, at.AddMinutes(5), $"rolling update of {d.W.Name} to a new image ({d.W.Image}, new digest)");
    }

    private void OomRestart(DateTimeOffset t)
    {
        var d = Least(Movable.Where(x => x.W.Kind == "Deployment").ToList());
        var pod = w.Pick(d.Running.ToList());
        foreach (var p in pod.Processes.AsEnumerable().Reverse())
        {
            w.Exit(p, t.AddMilliseconds(w.R.Next(0, 30)), 137);
        }

        // Same pod and address, a new container (id, start time, processes) started by the same shim after a back-off.
        var restart = t.AddSeconds(10 + w.R.Next(0, 10));
        pod.ContainerId = "containerd://" + w.Hex(32);
        pod.ContainerStart = restart;
        pod.Processes.Clear();
        pod.NextContainerPid = 2;
        d.A.Start(w, d, pod, restart, seen: true);
        Label("oom-restart", d, [pod], t, restart.AddMinutes(4), $"container of {pod.Name} OOM-killed (exit 137) and restarted in the same pod");
    }

    private void Hpa(DateTimeOffset t)
    {
        var candidates = Movable.Where(x => x.W.Kind == "Deployment" && x.A.Key is "queue-consumer" or "go-http" or "node-web" or "celery-worker" or "spring-boot").ToList();
        if (candidates.Count == 0)
        {
            return;
        }

        var d = Least(candidates);
        var added = new List<CorpusPod>();
        for (var i = 0; i < 1 + w.R.Next(0, 2); i++)
        {
            added.Add(w.NewPod(d, t.AddSeconds(2 + (i * 3)), 0, seen: true));
        }

        d.Replicas += added.Count;
        Endpoints(t.AddSeconds(15));
        Label("hpa-scale-out", d, added, t, t.AddMinutes(4), $"the HPA scales {d.W.Name} out by {added.Count} (new pods and addresses)");
        var @in = (int)(t - w.Start).TotalSeconds + 600 + w.R.Next(0, 300);
        Schedule(@in, at =>
        {
            foreach (var pod in added.Where(p => p.Alive))
            {
                w.Stop(pod, at);
            }

            d.Replicas -= added.Count;
            Endpoints(at.AddSeconds(2));
            Label("hpa-scale-in", d, added, at, at.AddMinutes(3), $"the HPA scales {d.W.Name} back in");
        });
    }

    private void ConfigMap(DateTimeOffset t)
    {
        var d = Least(w.Workloads.Where(x => x.Running.Any()).ToList());
        // The kubelet writes the new ..<timestamp> directory within its sync period and swaps ..data.
        d.ConfigDir = w.AtomicDir(t.AddSeconds(40));
        Label("configmap", d, d.Running, t, t.AddMinutes(4), $"ConfigMap of {d.W.Name} updated: the atomic writer swaps its ..data link to a new timestamped directory");
    }

    private void DnsRotation(DateTimeOffset t)
    {
        var peers = w.Workloads.SelectMany(d => d.Peers.Values).Where(p => p.External && p.Host.Length > 0 && !p.Host.EndsWith(".internal.example", StringComparison.Ordinal)).Distinct().ToList();
        if (peers.Count == 0)
        {
            return;
        }

        var peer = w.Pick(peers);
        var prefix = peer.Ips[0][..(peer.Ips[0].IndexOf('.', StringComparison.Ordinal) + 1)];
        peer.Ips = peer.Ips.Select(_ => $"{prefix}{w.R.Next(1, 255)}.{w.R.Next(1, 255)}.{w.R.Next(1, 255)}").ToArray();
        foreach (var d in w.Workloads.Where(x => x.Peers.ContainsValue(peer)))
        {
            Label("dns-rotation", d, [], t, t.AddMinutes(8), $"{peer.Host} answers with other addresses");
        }
    }

    private void Admin(DateTimeOffset t)
    {
        var d = Least(Movable);
        var pod = w.Pick(d.Running.ToList());
        var sh = w.Kubelet.Session(pod, "/bin/sh", "", t, pod.Main.Uid);
        w.Falco.Alert("Terminal shell in container", "Notice", "A shell was spawned in a container with an attached terminal", t.AddMilliseconds(20), pod, sh, null, "execve", "container", "shell", "mitre_execution", "T1059");
        var at = t.AddSeconds(4);
        foreach (var line in new[] { "/bin/ps aux", "/bin/df -h", "/bin/cat /etc/resolv.conf", "/usr/bin/env" })
        {
            var (bin, args) = Kubelet.Split(line);
            var p = w.Spawn(pod, bin, args, at, sh, sh.Uid);
            w.Exec(p);
            if (args == "/etc/resolv.conf")
            {
                w.File(p, at.AddMilliseconds(1), "/etc/resolv.conf", false);
            }

            w.Exit(p, at.AddMilliseconds(30));
            at = at.AddSeconds(3 + w.R.Next(0, 6));
        }

        w.Exit(sh, at);
        Label("admin", d, [pod], t, at.AddMinutes(1), $"an operator's kubectl exec into {pod.Name}: ps, df, resolv.conf, env (a diagnosis)");
    }

    private void CertRotation(DateTimeOffset t)
    {
        if (w.Find("cert-manager") is { } cm && cm.Running.Any())
        {
            CertManager.Renew(w, cm, t);
            Label("cert-rotation", cm, cm.Running, t, t.AddMinutes(3), "cert-manager renews a certificate (ACME order, DNS-01 at the provider, the new Secret)");
            if (w.Find("ingress-nginx") is { } ingress)
            {
                IngressNginx.Reload(w, t.AddSeconds(25), $"{w.Public.FirstOrDefault()?.W.Namespace ?? "default"}-tls");
                Label("cert-rotation", ingress, ingress.Running, t.AddSeconds(25), t.AddMinutes(4), "ingress-nginx picks up the renewed certificate: writes it, tests and reloads nginx");
            }

            return;
        }

        var meshed = w.Workloads.Where(d => d.Sidecar == "istio-proxy" && d.Running.Any()).ToList();
        foreach (var d in meshed)
        {
            foreach (var pod in d.Running)
            {
                // The workload certificate (24 h, rotated at half-life): pilot-agent sends a CSR on its istiod stream.
                if (w.Runtime(pod).Sidecar is { Processes.Count: > 0 } sc)
                {
                    var at = w.Jitter(t, 30_000);
                    Sidecars.Xds(w, sc, sc.Processes[0], at, 2_900);
                    w.Net.Push(sc, sc.Processes[0], w.Find("istiod")!.W.ServiceIp!, 15012, 4_200, at.AddMilliseconds(30));
                }
            }

            Label("cert-rotation", d, d.Running, t, t.AddMinutes(3), "the mesh's workload certificates rotate: each proxy sends istiod a CSR");
        }
    }

    private void Burst(DateTimeOffset t, int seconds, double factor)
    {
        w.Bursts.Add((t, t.AddSeconds(seconds), factor));
        var affected = w.Workloads.Where(d => d.A.Key == "ingress-nginx" || w.Public.Contains(d)).ToList();
        affected.AddRange(affected.SelectMany(d => d.Peers.Values).Select(p => p.Service).OfType<Deployed>().Where(x => !affected.Contains(x)).Distinct().ToList());
        foreach (var d in affected)
        {
            Label("traffic-burst", d, [], t, t.AddSeconds(seconds), $"users arrive {factor:0.0} times as fast for {seconds / 60.0:0.#} minutes (a campaign)");
        }
    }
}
