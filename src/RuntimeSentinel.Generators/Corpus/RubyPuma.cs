namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// A Rails app under Puma in cluster mode: <c>bundle exec</c> replaces itself with puma, which forks two workers;
/// bootsnap's cache, the gems and the app's config read at start; ActiveRecord's SQL on nearly every request.
/// </summary>
internal sealed class RubyPuma : Archetype
{
    public override string Key => "puma";

    public override string Summary => "Ruby on Rails under Puma (bundle exec -> puma master + forked workers, gems and bootsnap at start, SQL per request)";

    public override string Kind => "Deployment";

    public override IReadOnlyList<string> Names => ["storefront-rails", "admin", "cms", "helpdesk", "backoffice"];

    public override IReadOnlyList<string> Namespaces => ["shop", "apps", "web", "backoffice"];

    public override string Image(string name, int variant, ClusterFlavor flavor) => $"{flavor.Registry}/{name}:{Version(name, 7)}";

    public override int Port => 3000;

    public override int ServicePort => 80;

    public override IReadOnlyList<string> Offers => ["http"];

    public override int MetricsPort => 0;

    public override IReadOnlyList<string> Needs => ["sql", "cache", "saas"];

    public override (int Min, int Max) Replicas => (2, 3);

    public override ProbeSpec Probe => ProbeSpec.Http(3000, 20);

    public override string ConfigMount(string name) => "/rails/config/settings";

    public override string ConfigFile => "production.yml";

    public override void Start(ClusterWorld w, Deployed d, CorpusPod pod, DateTimeOffset at, bool seen)
    {
        var bundle = w.Spawn(pod, "/usr/local/bin/ruby", "/usr/local/bundle/bin/bundle exec puma -C config/puma.rb", at, null, 1000, "/rails");
        var puma = w.Replace(bundle, "/usr/local/bin/ruby", "/usr/local/bundle/bin/puma -C config/puma.rb", at.AddMilliseconds(600));
        pod.Processes.Add(puma);
        for (var i = 0; i < 2; i++)
        {
            pod.Processes.Add(w.Spawn(pod, "/usr/local/bin/ruby", "/usr/local/bundle/bin/puma -C config/puma.rb", at.AddMilliseconds(4_100 + i), puma, 1000, "/rails", "clone"));
        }

        if (seen)
        {
            w.Exec(bundle);
            ReadAll(w, bundle, at.AddMilliseconds(10), ["/rails/Gemfile", "/rails/Gemfile.lock", "/usr/local/bundle/specifications/rails-7.2.2.gemspec"]);
            w.Exec(puma);
            var t = ReadAll(w, puma, at.AddMilliseconds(620), ["/rails/config/puma.rb", "/rails/config/application.rb", "/rails/config/database.yml", "/rails/config/credentials.yml.enc", "/rails/config/master.key"]);
            t = ReadAll(w, puma, t, ["/rails/tmp/cache/bootsnap/load-path-cache", "/usr/local/bundle/gems/activerecord-7.2.2/lib/active_record.rb", "/usr/local/bundle/gems/actionpack-7.2.2/lib/action_controller.rb", "/usr/local/bundle/gems/pg-1.5.9/lib/pg.rb", "/usr/local/bundle/gems/redis-5.3.0/lib/redis.rb"]);
            ReadConfig(w, d, puma, t);
            w.File(puma, t.AddMilliseconds(30), "/rails/tmp/pids/server.pid", true);
        }
    }

    public override Proc Server(ClusterWorld w, Deployed d, CorpusPod pod) => pod.Processes[1 + w.R.Next(0, pod.Processes.Count - 1)];

    public override Proc Worker(ClusterWorld w, Deployed d, CorpusPod pod) => Server(w, d, pod);

    public override DateTimeOffset Handle(ClusterWorld w, Deployed d, CorpusPod pod, Proc app, long request, DateTimeOffset t, int depth)
    {
        var done = Downstream(w, d, pod, app, t, depth, ("sql", 0.95, 380, 2_900), ("sql", 0.5, 300, 1_200), ("cache", 0.4, 70, 500), ("saas", 0.02, 1_100, 700));
        if (w.R.NextDouble() < 0.05)
        {
            // Rails writes uploads and cache fragments to tmp.
            w.File(app, done, $"/rails/tmp/cache/{w.Hex(2)}/{w.Hex(2)}/views-{w.Hex(8)}", true);
        }

        return done;
    }

    public override long Response(ClusterWorld w) => 2_000 + w.R.Next(0, 30_000);

    public override void Tick(ClusterWorld w, Deployed d, CorpusPod pod, int s, DateTimeOffset t)
    {
    }
}
