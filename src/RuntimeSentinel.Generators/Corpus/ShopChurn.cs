using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>Benign churn: rolling updates, HPA scale-ups, restarts, pods replaced with new IPs (each labelled).</summary>
internal sealed class ShopChurn(ShopCluster cluster)
{
    /// <summary>The churn due at second <paramref name="s"/> of the stream.</summary>
    public void Second(int s, DateTimeOffset t)
    {
        switch (s)
        {
            case 35 * 60:
                cluster.Paygate = ["203.0.113.80", "203.0.113.81"];
                cluster.Labels.Add(new CorpusLabel("dns-rotation-paygate-1", "benign-churn", cluster.W("api").Id, [], t, t.AddMinutes(10), "api.paygate.example moves to addresses in another network"));
                break;
            case 40 * 60:
                RollOut(cluster.W("frontend"), t);
                break;
            case 45 * 60:
                var hpa = cluster.NewPod(cluster.W("api"), t, 2);
                cluster.Emit(t, "tetragon", Exec(hpa.Processes[0], hpa.Node.Name, t));
                cluster.Labels.Add(new CorpusLabel("hpa-api-scale-up", "benign-churn", cluster.W("api").Id, [hpa.Name], t, t.AddMinutes(5), "the HPA adds a third api pod (new pod IP)"));
                break;
            case 50 * 60:
                Restart(cluster.W("worker").Running.First(), t);
                break;
            case 52 * 60:
                ReplacePod(cluster.W("coredns"), t);
                break;
            case 55 * 60:
                cluster.Paygate = ["198.51.100.140", "203.0.113.81"];
                cluster.Labels.Add(new CorpusLabel("dns-rotation-paygate-2", "benign-churn", cluster.W("api").Id, [], t, t.AddMinutes(10), "api.paygate.example rotates again"));
                break;
            case 72 * 60 + 30:
                ReplacePod(cluster.W("redis"), t, keepName: true);
                break;
        }
    }

    /// <summary>A rolling update: a new image digest, new pods one by one (entrypoint script first), old pods gone.</summary>
    private void RollOut(CorpusWorkload w, DateTimeOffset t)
    {
        w.Image = "docker.io/library/nginx:1.27.3";
        w.Digest = cluster.Digest();
        var old = w.Running.ToList();
        var pods = new List<string>();
        for (var i = 0; i < old.Count; i++)
        {
            var at = t.AddSeconds(i * 40);
            var pod = cluster.NewPod(w, at, i);
            pods.Add(pod.Name);
            Entrypoint(pod, at);
            old[i].Alive = false;
            foreach (var p in old[i].Processes)
            {
                cluster.Emit(at.AddSeconds(2), "tetragon", SensorJson.Exit(p, old[i].Node.Name, at.AddSeconds(2), 0));
            }
        }

        cluster.Labels.Add(new CorpusLabel("rollout-frontend", "benign-churn", w.Id, pods, t, t.AddMinutes(15), "rolling update of the frontend to a new image digest (nginx 1.27.3)"));
    }

    /// <summary>nginx's image entrypoint: /docker-entrypoint.sh runs its configuration scripts, then execs nginx.</summary>
    private void Entrypoint(CorpusPod pod, DateTimeOffset at)
    {
        var master = pod.Processes[0];
        var script = new Proc { Pid = master.Pid, ContainerPid = 1, Binary = "/docker-entrypoint.sh", Args = "nginx -g daemon off;", Start = at, ExecId = ExecId(pod.Node.Name, at, master.Pid), Parent = pod.Node.Shim, Pod = pod, Uid = 0 };
        cluster.Emit(at, "tetragon", Exec(script, pod.Node.Name, at));
        var step = 0;
        foreach (var (bin, args) in new[] { ("/usr/bin/find", "/docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit"), ("/bin/sed", "-i -E s,listen       80;,listen       8080;, /etc/nginx/conf.d/default.conf"), ("/usr/bin/envsubst", "$NGINX_HOST $NGINX_PORT"), ("/bin/sed", "-i s/worker_processes auto/worker_processes 2/ /etc/nginx/nginx.conf") })
        {
            var p = cluster.Spawn(pod, bin, args, at.AddMilliseconds(10 + (step * 15)), script, 0);
            cluster.Emit(p.Start, "tetragon", Exec(p, pod.Node.Name, p.Start));
            cluster.Emit(p.Start.AddMilliseconds(3), "tetragon", SensorJson.Exit(p, pod.Node.Name, p.Start.AddMilliseconds(3)));
            step++;
        }

        cluster.Emit(at.AddMilliseconds(90), "tetragon", Kprobe(script, pod.Node.Name, at.AddMilliseconds(90), "security_file_permission", "file-monitoring", FileArgs("/etc/nginx/conf.d/default.conf", true)));
        var nginx = new Proc { Pid = master.Pid, ContainerPid = 1, Binary = master.Binary, Args = master.Args, Start = at.AddMilliseconds(100), ExecId = master.ExecId, Parent = pod.Node.Shim, Pod = pod, Uid = 0 };
        cluster.Emit(nginx.Start, "tetragon", Exec(nginx, pod.Node.Name, nginx.Start));
    }

    /// <summary>The container restarts in place (same pod and IP, new container id): its entrypoint starts again.</summary>
    private void Restart(CorpusPod pod, DateTimeOffset t)
    {
        foreach (var p in pod.Processes)
        {
            cluster.Emit(t, "tetragon", SensorJson.Exit(p, pod.Node.Name, t, 137));
        }

        pod.ContainerId = "containerd://" + cluster.Hex(32);
        pod.ContainerStart = t.AddSeconds(10);
        cluster.StartProcesses(pod, t.AddSeconds(10));
        cluster.Emit(t.AddSeconds(10), "tetragon", Exec(pod.Processes[0], pod.Node.Name, t.AddSeconds(10)));
        cluster.Labels.Add(new CorpusLabel("restart-" + pod.Workload.Name, "benign-churn", pod.Workload.Id, [pod.Name], t, t.AddMinutes(5), "the container was OOM-killed and restarted"));
    }

    /// <summary>A pod deleted and recreated (new pod IP; a StatefulSet keeps its name).</summary>
    private void ReplacePod(CorpusWorkload w, DateTimeOffset t, bool keepName = false)
    {
        var old = w.Running.First();
        old.Alive = false;
        foreach (var p in old.Processes)
        {
            cluster.Emit(t, "tetragon", SensorJson.Exit(p, old.Node.Name, t, 0));
        }

        var pod = cluster.NewPod(w, t.AddSeconds(8), keepName ? 0 : 9);
        cluster.Emit(t.AddSeconds(8), "tetragon", Exec(pod.Processes[0], pod.Node.Name, t.AddSeconds(8)));
        cluster.Labels.Add(new CorpusLabel("replace-" + w.Name, "benign-churn", w.Id, [pod.Name], t, t.AddMinutes(5), "pod deleted and recreated on another node with a new IP"));
    }
}
