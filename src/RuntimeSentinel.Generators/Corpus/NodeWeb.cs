namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A Node.js web front (a BFF): started by <c>npm start</c> (npm runs <c>sh -c node dist/server.js</c>, so node is a
/// grandchild of PID 1) or by the image's entrypoint that execs node; reads its package files and node_modules at
/// start; sessions in a cache, an API service behind it.
/// </summary>
internal sealed class NodeWeb : Archetype
{
    private static readonly string[] Modules = ["express/index.js", "express/lib/router/index.js", "body-parser/index.js", "ioredis/built/index.js", "axios/dist/node/axios.cjs", "pino/pino.js", "helmet/index.cjs", "cookie-parser/index.js", "prom-client/index.js", "undici/index.js", "dotenv/lib/main.js", "zod/lib/index.js"];

    public override string Key => "node-web";

    public override string Summary => "Node.js web front / BFF (npm start -> sh -> node, or entrypoint exec node; node_modules at start; sessions in a cache; an API behind it)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["web", "storefront", "bff", "portal", "dashboard", "web-app"];

    public override IReadOnlyList<string> Namespaces => ["shop", "web", "apps", "frontend"];

    public override int Variants => 2;

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/{name}:{Version(name, 4)}";

    public override int Port => 3000;

    public override int ServicePort => 80;

    public override IReadOnlyList<string> Offers => ["http"];

    public override IReadOnlyList<string> Needs => ["cache", "http?", "saas"];

    public override (int Min, int Max) Replicas => (2, 4);

    public override ProbeSpec Probe => ProbeSpec.Http(3000, 20);

    public override string ConfigMount(string name) => "/app/config";

    public override string ConfigFile => "production.json";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        Proc node;
        if (d.Variant == 0)
        {
            var npm = w.Spawn(pod, "/usr/local/bin/node", "/usr/local/bin/npm start", at, null, 1000, "/app");
            var sh = w.Spawn(pod, "/bin/sh", "-c node dist/server.js", at.AddMilliseconds(380), npm, 1000, "/app");
            node = w.Spawn(pod, "/usr/local/bin/node", "dist/server.js", at.AddMilliseconds(384), sh, 1000, "/app");
            pod.Processes.AddRange([npm, sh, node]);
            if (seen)
            {
                w.Exec(npm);
                ReadAll(w, npm, at.AddMilliseconds(60), ["/app/package.json", "/usr/local/lib/node_modules/npm/package.json", "/usr/local/etc/npmrc"]);
                w.Exec(sh);
                w.Exec(node);
            }
        }
        else
        {
            var entry = w.Spawn(pod, "/usr/local/bin/docker-entrypoint.sh", "node dist/server.js", at, null, 1000, "/app");
            node = w.Replace(entry, "/usr/local/bin/node", "dist/server.js", at.AddMilliseconds(3));
            pod.Processes.Add(node);
            if (seen)
            {
                w.Exec(entry);
                w.Exec(node);
            }
        }

        if (seen)
        {
            var t = ReadAll(w, node, node.Start.AddMilliseconds(30), ["/app/package.json", "/app/dist/server.js"]);
            t = ReadAll(w, node, t, Modules.Select(m => "/app/node_modules/" + m));
            ReadConfig(w, d, node, t);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Processes[^1];

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Processes[^1];

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth) =>
        Downstream(w, d, pod, app, t, depth, ("cache", 0.6, 80, 700), ("http?", 0.75, 500, 4_500), ("saas", 0.02, 900, 2_000));

    public override long Response(ClusterWorld w) => 1_500 + w.R.Next(0, 40_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
    }
}
