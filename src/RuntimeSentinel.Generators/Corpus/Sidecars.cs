using System.Security.Cryptography;
using System.Text;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Second containers in a pod: Istio's <c>istio-proxy</c> (pilot-agent as PID 1, Envoy its child, uid 1337, an xDS
/// stream to istiod on 15012, its own token under <c>/var/run/secrets/tokens</c>), a plain <c>envoy</c> with a static
/// configuration from a ConfigMap (the app reaches it on 127.0.0.1:15001), and the <c>nginx</c> that fronts PHP-FPM.
/// </summary>
internal static class Sidecars
{
    public static string Image(string name) => name switch
    {
        "istio-proxy" => "docker.io/istio/proxyv2:1.23.2",
        "envoy" => "docker.io/envoyproxy/envoy:v1.31.2",
        _ => "docker.io/library/nginx:1.27.2-alpine",
    };

    /// <summary>Public images have one digest per tag, whatever the seed.</summary>
    public static string Digest(string name) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Image(name))));

    public static void Start(ClusterWorld w, Deployed d, CorpusPod c, DateTimeOffset at, bool seen)
    {
        switch (c.ContainerName)
        {
            case "istio-proxy":
                var agent = w.Spawn(c, "/usr/local/bin/pilot-agent", $"proxy sidecar --domain {d.W.Namespace}.svc.cluster.local --proxyLogLevel=warning --proxyComponentLogLevel=misc:error --log_output_level=default:info", at, null, 1337, "/");
                c.Processes.Add(agent);
                var envoy = w.Spawn(c, "/usr/local/bin/envoy", "-c etc/istio/proxy/envoy-rev.json --drain-time-s 45 --drain-strategy immediate --local-address-ip-version v4 --file-flush-interval-msec 1000 --disable-hot-restart --allow-unknown-static-fields -l warning --component-log-level misc:error --concurrency 2", at.AddMilliseconds(180), agent, 1337, "/");
                c.Processes.Add(envoy);
                if (seen)
                {
                    w.Exec(agent);
                    w.File(agent, at.AddMilliseconds(20), $"/var/run/secrets/tokens/{w.Volume(c, "istio-token")}/istio-token", false);
                    w.File(agent, at.AddMilliseconds(22), $"/etc/istio/pod/{w.Volume(c, "istio-podinfo")}/labels", false);
                    w.File(agent, at.AddMilliseconds(25), "/etc/istio/proxy/envoy-rev.json", true);
                    Xds(w, c, agent, at.AddMilliseconds(60), 1_800);
                    w.Exec(envoy);
                    w.File(envoy, at.AddMilliseconds(185), "/etc/istio/proxy/envoy-rev.json", false);
                }

                break;
            case "envoy":
                var e = w.Spawn(c, "/usr/local/bin/envoy", $"-c /etc/envoy/envoy.yaml --service-cluster {d.W.Name} --service-node {c.Name}", at, null, 101, "/");
                c.Processes.Add(e);
                if (seen)
                {
                    w.Exec(e);
                    w.File(e, at.AddMilliseconds(15), $"/etc/envoy/{d.ConfigDir}/envoy.yaml", false);
                    w.File(e, at.AddMilliseconds(16), "/etc/ssl/certs/ca-certificates.crt", false);
                }

                break;
            default:
                var master = w.Spawn(c, "/usr/sbin/nginx", "-g daemon off;", at, null, 0);
                c.Processes.Add(master);
                c.Processes.Add(w.Spawn(c, "/usr/sbin/nginx", "-g daemon off;", at.AddMilliseconds(30), master, 101, flags: "clone"));
                c.Processes.Add(w.Spawn(c, "/usr/sbin/nginx", "-g daemon off;", at.AddMilliseconds(31), master, 101, flags: "clone"));
                if (seen)
                {
                    w.Exec(master);
                    w.File(master, at.AddMilliseconds(3), "/etc/nginx/nginx.conf", false);
                    w.File(master, at.AddMilliseconds(4), $"/etc/nginx/conf.d/{d.ConfigDir}/default.conf", false);
                    w.Call(master, at.AddMilliseconds(28), "__x64_sys_setuid", "privileges", 101);
                }

                break;
        }
    }

    /// <summary>pilot-agent's stream to istiod (xDS and certificate signing on the same gRPC connection).</summary>
    public static void Xds(ClusterWorld w, CorpusPod c, Proc agent, DateTimeOffset t, long bytes, bool reopen = false)
    {
        if (w.Find("istiod") is { } istiod && istiod.Running.FirstOrDefault() is { } server)
        {
            w.Net.Stream(c, agent, istiod.W.ServiceIp!, 15012, bytes, t, istiod.A.Server(w, istiod, server), server, reopen);
        }
    }

    public static void Tick(ClusterWorld w, Deployed d, CorpusPod pod, CorpusPod c, int s, DateTimeOffset t)
    {
        if (c.ContainerName == "istio-proxy" && Archetype.Every(c, s, 1800, 450))
        {
            // istiod closes streams older than its max connection age (30 min); pilot-agent reconnects at once.
            Xds(w, c, c.Processes[0], w.Jitter(t), 2_400, reopen: true);
        }
        else if (c.ContainerName == "istio-proxy" && Archetype.Every(c, s, 300))
        {
            // pilot-agent re-reads its token for the xDS stream's credentials, and keeps the stream alive.
            w.File(c.Processes[0], w.Jitter(t), $"/var/run/secrets/tokens/{w.Volume(c, "istio-token")}/istio-token", false);
            Xds(w, c, c.Processes[0], w.Jitter(t), 90);
        }

        if (c.ContainerName == "nginx" && w.R.NextDouble() < 0.02)
        {
            w.File(c.Processes[1 + w.R.Next(2)], w.Jitter(t), "/var/www/html/public/index.php", false);
        }
    }
}
