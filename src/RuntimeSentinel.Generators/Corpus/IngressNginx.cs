using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// The ingress-nginx controller: dumb-init, the Go controller, and the nginx master and workers it runs. Visitors
/// from all over the internet (the load balancer preserves their addresses) connect on 443; nginx proxies each request
/// to a backend pod's address directly (endpoints, no Service hop) over kept-alive upstream connections. The
/// controller watches the API server, pushes changed endpoints to nginx's Lua balancer on 127.0.0.1:10246, and on a
/// configuration or certificate change writes the files, tests the configuration and reloads nginx.
/// </summary>
internal sealed class IngressNginx : Archetype
{
    public override string Key => "ingress-nginx";

    public override string Summary => "ingress-nginx controller (many client addresses on 443, proxies to backend pod addresses, Lua endpoint sync, reloads with nginx -t / -s reload)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["ingress-nginx-controller"];

    public override IReadOnlyList<string> Namespaces => ["ingress-nginx"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => "registry.k8s.io/ingress-nginx/controller:v1.11.3";

    public override string Container(string name, int variant) => "controller";

    public override int Port => 443;

    public override IReadOnlyList<string> Offers => ["ingress"];

    public override bool Meshable => false;

    public override bool ApiClient => true;

    public override int MetricsPort => 10254;

    public override (int Min, int Max) Replicas => (1, 2);

    public override ProbeSpec Probe => ProbeSpec.Http(10254, 20);

    public override string ConfigMount(string name) => "/etc/nginx/template";

    public override string ConfigFile => "nginx.tmpl";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var init = w.Spawn(pod, "/usr/bin/dumb-init", "-- /nginx-ingress-controller --publish-service=ingress-nginx/ingress-nginx-controller --election-id=ingress-nginx-leader --controller-class=k8s.io/ingress-nginx --ingress-class=nginx --configmap=ingress-nginx/ingress-nginx-controller --validating-webhook=:8443", at, null, 101, "/etc/nginx");
        var controller = w.Spawn(pod, "/nginx-ingress-controller", init.Args[3..], at.AddMilliseconds(5), init, 101, "/etc/nginx");
        var master = w.Spawn(pod, "/usr/bin/nginx", "-c /etc/nginx/nginx.conf", at.AddMilliseconds(900), controller, 101, "/etc/nginx");
        pod.Processes.AddRange([init, controller, master]);
        for (var i = 0; i < 2; i++)
        {
            pod.Processes.Add(w.Spawn(pod, "/usr/bin/nginx", "-c /etc/nginx/nginx.conf", at.AddMilliseconds(920 + i), master, 101, "/etc/nginx", "clone"));
        }

        if (seen)
        {
            w.Exec(init);
            w.Exec(controller);
            ReadToken(w, pod, controller, at.AddMilliseconds(30));
            Api(w, pod, controller, at.AddMilliseconds(40), 2_400);
            ReadConfig(w, d, controller, at.AddMilliseconds(600));
            w.File(controller, at.AddMilliseconds(700), "/etc/nginx/nginx.conf", true);
            w.Exec(master);
            ReadAll(w, master, at.AddMilliseconds(905), ["/etc/nginx/nginx.conf", "/etc/nginx/mime.types", "/etc/nginx/lua/balancer.lua", "/etc/ingress-controller/ssl/default-fake-certificate.pem"]);
        }
    }

    /// <summary>A worker accepts the visitors.</summary>
    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Processes[3 + w.R.Next(0, pod.Processes.Count - 3)];

    /// <summary>One proxied request: to a routed app's pod address over nginx's kept-alive upstream connections.</summary>
    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth)
    {
        var routes = w.Public;
        if (routes.Count == 0)
        {
            return t.AddMilliseconds(1);
        }

        var target = routes[w.R.Next(0, 100) < 70 ? 0 : w.R.Next(routes.Count)];
        w.Net.Call(pod, app, target, t.AddMilliseconds(1), request + 350, target.A.Response(w), 0.002, depth, direct: true);
        return t.AddMilliseconds(4 + w.R.Next(0, 60));
    }

    public override long Response(ClusterWorld w) => 1_200 + w.R.Next(0, 50_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
        var controller = pod.Processes[1];
        if (Every(pod, s, 15, 3))
        {
            Api(w, pod, ClusterWorld.Thread(controller, 1), w.Jitter(t), 480);
        }

        if (Every(pod, s, 60, 44))
        {
            ReadToken(w, pod, ClusterWorld.Thread(controller, 2), w.Jitter(t));
        }
    }

    /// <summary>Endpoints changed (a pod came or went): the controller POSTs the backends to the Lua balancer.</summary>
    public static void Sync(ClusterWorld w, DateTimeOffset t)
    {
        foreach (var pod in w.All("ingress-nginx").SelectMany(d => d.Running))
        {
            var controller = pod.Processes[1];
            var at = t.AddMilliseconds(w.R.Next(200, 1_500));
            var conn = new Sock("tcp", "127.0.0.1", pod.EphemeralPort(), "127.0.0.1", 10246, "TCP_SYN_SENT");
            w.Tetragon(at, Kprobe(controller, pod.Node.Name, at, "tcp_connect", "network-observability", SockArgs(conn)));
            var worker = pod.Processes[3];
            var accepted = new Sock("tcp", "127.0.0.1", 10246, "127.0.0.1", conn.Sport, "TCP_ESTABLISHED");
            w.Tetragon(at.AddTicks(2_000), Kprobe(worker, pod.Node.Name, at.AddTicks(2_000), "inet_csk_accept", "network-observability", SockArgs(new Sock("tcp", "0.0.0.0", 10246, "0.0.0.0", 0, "TCP_LISTEN")), accepted));
            w.Net.Send(controller, conn, 2_000 + w.R.Next(0, 6_000), at.AddTicks(4_000));
            w.Net.Send(worker, accepted, 120, at.AddTicks(9_000));
            w.Tetragon(at.AddMilliseconds(2), Kprobe(controller, pod.Node.Name, at.AddMilliseconds(2), "tcp_close", "network-observability", SockArgs(conn with { State = "TCP_ESTABLISHED" })));
        }
    }

    /// <summary>A changed certificate or configuration: write it, test the configuration, reload (new workers).</summary>
    public static void Reload(ClusterWorld w, DateTimeOffset t, string? certificate)
    {
        foreach (var pod in w.All("ingress-nginx").SelectMany(d => d.Running))
        {
            var controller = pod.Processes[1];
            var at = t.AddMilliseconds(w.R.Next(100, 2_000));
            if (certificate is not null)
            {
                w.File(controller, at, $"/etc/ingress-controller/ssl/{certificate}.pem", true);
            }

            w.File(controller, at.AddMilliseconds(5), $"/tmp/nginx/nginx-cfg{w.R.Next(100_000_000, 999_999_999)}", true);
            var test = w.Spawn(pod, "/usr/bin/nginx", "-c /tmp/nginx/nginx-cfg -t", at.AddMilliseconds(8), controller, 101, "/etc/nginx");
            w.Exec(test);
            w.Exit(test, at.AddMilliseconds(60));
            w.File(controller, at.AddMilliseconds(65), "/etc/nginx/nginx.conf", true);
            var reload = w.Spawn(pod, "/usr/bin/nginx", "-s reload", at.AddMilliseconds(70), controller, 101, "/etc/nginx");
            w.Exec(reload);
            w.Exit(reload, at.AddMilliseconds(90));
            var master = pod.Processes[2];
            for (var i = 3; i < pod.Processes.Count; i++)
            {
                w.Exit(pod.Processes[i], at.AddSeconds(1 + w.R.Next(0, 10)));
                pod.Processes[i] = w.Spawn(pod, "/usr/bin/nginx", "-c /etc/nginx/nginx.conf", at.AddMilliseconds(120 + i), master, 101, "/etc/nginx", "clone");
            }
        }
    }
}
