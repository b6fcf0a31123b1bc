using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Connections as Tetragon's network policy sees them (<c>tcp_connect</c>, <c>inet_csk_accept</c> returning the new
/// socket, <c>tcp_sendmsg</c> with its size, <c>tcp_close</c>, <c>udp_sendmsg</c>) and the cluster DNS as Hubble's DNS
/// proxy sees it. Connections are pooled the way clients pool them (a connection serves many requests and is
/// replaced now and then); a request crosses every hop it really crosses: kube-proxy's DNAT (the client connects to
/// the Service address, the server accepts from the client pod) or Cilium's socket LB (the client's socket names the
/// backend pod), and a sidecar's Envoy on either side.
/// </summary>
internal sealed class ClusterNet(ClusterWorld w, bool socketLb)
{
    private const string Policy = "network-observability";

    /// <summary>One TCP connection: the client's view and the server's (null server: a peer outside the cluster).</summary>
    private sealed class Link
    {
        public required Proc From { get; init; }

        public required Sock Out { get; init; }

        public Proc? To { get; init; }

        public Sock In { get; init; }

        public CorpusPod? ToPod { get; init; }

        public DateTimeOffset Used { get; set; }
    }

    private readonly Dictionary<string, Link> _links = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), long> _calls = [];

    /// <summary>How many requests a workload has made to another per second so far (what "its usual rate" is).</summary>
    public double UsualRate(Deployed client, Deployed target, DateTimeOffset now) =>
        _calls.GetValueOrDefault((client.Id, target.Id)) / Math.Max(1, (now - w.Start).TotalSeconds);

    public bool SocketLb => socketLb;

    // ---------------------------------------------------------------- DNS

    /// <summary>
    /// A lookup through the cluster DNS as the pod's resolver makes it: with <c>ndots:5</c> a name with fewer dots is
    /// tried with each search domain first (NXDOMAIN from CoreDNS, or from upstream for the cloud's domain), A and AAAA
    /// in parallel. A runtime that caches (the JVM: 30 s) asks again only when its cache expired.
    /// </summary>
    public DateTimeOffset Resolve(CorpusPod pod, Proc proc, string name, IReadOnlyList<string> ips, int ttl, DateTimeOffset t, int cacheSeconds = 0)
    {
        var rt = w.Runtime(pod);
        if (cacheSeconds > 0 && rt.Dns.TryGetValue(name, out var asked) && t - asked < TimeSpan.FromSeconds(Math.Min(cacheSeconds, ttl)))
        {
            return t;
        }

        rt.Dns[name] = t;
        var tries = name.Count(c => c == '.') >= 5 || name.EndsWith('.') ? [] : w.Flavor.Search(pod.Workload.Namespace).Select(s => $"{name}.{s}").ToList();
        tries.Add(name.TrimEnd('.'));
        var at = t;
        var port = pod.EphemeralPort();
        foreach (var q in tries)
        {
            var found = q == name.TrimEnd('.');
            var cloud = !q.EndsWith("cluster.local", StringComparison.Ordinal) && !found;
            foreach (var qtype in new[] { "A", "AAAA" })
            {
                var answers = found && qtype == "A" ? ips : [];
                Question(pod, proc, q, qtype, port, at, answers, found ? 0 : 3, found ? ttl : 0, upstream: cloud || (found && !q.EndsWith("cluster.local", StringComparison.Ordinal)));
                at = at.AddTicks(2_000 + w.R.Next(0, 3_000));
            }

            at = at.AddMilliseconds(1 + (cloud ? 2 : 0));
        }

        return at.AddMilliseconds(1);
    }

    private void Question(CorpusPod pod, Proc proc, string q, string qtype, int port, DateTimeOffset t, IReadOnlyList<string> ips, int rcode, int ttl, bool upstream)
    {
        var dnsPods = w.Find("coredns")!.Running.ToList();
        var dns = dnsPods[(port + q.Length) % dnsPods.Count];
        var node = pod.Node.Name;
        w.Tetragon(t, Kprobe(proc, node, t, "udp_sendmsg", Policy, SockArgs(new Sock("udp", pod.Ip, port, w.Flavor.Dns, 53, ""), 12 + q.Length + 17)));
        w.Emit(t, "hubble", HubbleJson.Dns(pod, dns, t, q, qtype, port, false, [], 0, 0));
        var reply = t.AddTicks(upstream ? 9_000 + w.R.Next(0, 20_000) : 1_500);
        if (upstream && w.R.NextDouble() < 0.4)
        {
            // CoreDNS's cache (30 s) missed: it forwards the question to the node's resolver.
            w.Tetragon(reply, Kprobe(dns.Main, dns.Node.Name, reply, "udp_sendmsg", Policy, SockArgs(new Sock("udp", dns.Ip, dns.EphemeralPort(), w.Flavor.Upstream, 53, ""), 12 + q.Length + 17 + 11)));
            reply = reply.AddMilliseconds(2 + w.R.Next(0, 15));
        }

        w.Tetragon(reply, Kprobe(dns.Main, dns.Node.Name, reply, "udp_sendmsg", Policy, SockArgs(new Sock("udp", dns.Ip, 53, pod.Ip, port, ""), 12 + q.Length + 17 + (ips.Count * 16) + (rcode == 3 ? 90 : 0))));
        w.Emit(reply, "hubble", HubbleJson.Dns(pod, dns, reply, q, qtype, port, true, ips, rcode, ttl));
    }

    /// <summary>How a client's configuration names a Service: short in its own namespace, else qualified (some fully).</summary>
    public static string ServiceName(Deployed client, Deployed target) =>
        client.W.Namespace == target.W.Namespace ? target.W.Name
        : (client.W.Name.Length + target.W.Name.Length) % 3 == 0 ? $"{target.W.Name}.{target.W.Namespace}.svc.cluster.local"
        : $"{target.W.Name}.{target.W.Namespace}";

    // ---------------------------------------------------------------- connections

    private Link Open(string key, Proc from, CorpusPod fromPod, string srcIp, string dstIp, int dstPort, Proc? to, CorpusPod? toPod, string localIp, int localPort, DateTimeOffset t, double recycle, out bool fresh)
    {
        fresh = false;
        if (_links.TryGetValue(key, out var link) && (link.ToPod is null || link.ToPod.Alive) && from.Pod!.Alive && w.R.NextDouble() >= recycle)
        {
            link.Used = t;
            return link;
        }

        if (link is not null)
        {
            // The pool retires the connection (idle timeout, max age) or its server went away: both sides close.
            w.Tetragon(t, Kprobe(link.From, ClusterWorld.NodeOf(link.From), t, "tcp_close", Policy, SockArgs(link.Out with { State = "TCP_ESTABLISHED" })));
            if (link.To is { } server && link.ToPod!.Alive)
            {
                w.Tetragon(t.AddTicks(3_000), Kprobe(server, ClusterWorld.NodeOf(server), t.AddTicks(3_000), "tcp_close", Policy, SockArgs(link.In)));
            }
        }

        fresh = true;
        var sport = fromPod.EphemeralPort();
        var outSock = new Sock("tcp", srcIp, sport, dstIp, dstPort, "TCP_SYN_SENT");
        w.Tetragon(t, Kprobe(from, fromPod.Node.Name, t, "tcp_connect", Policy, SockArgs(outSock)));
        var inSock = new Sock("tcp", localIp, localPort, srcIp, sport, "TCP_ESTABLISHED");
        if (to is not null)
        {
            var at = t.AddTicks(3_000 + w.R.Next(0, 4_000));
            w.Tetragon(at, Kprobe(to, toPod!.Node.Name, at, "inet_csk_accept", Policy, SockArgs(new Sock("tcp", "0.0.0.0", localPort, "0.0.0.0", 0, "TCP_LISTEN")), inSock));
        }

        link = new Link { From = from, Out = outSock, To = to, In = inSock, ToPod = toPod, Used = t };
        _links[key] = link;
        return link;
    }

    /// <summary>Bytes written on a connection: one tcp_sendmsg per write (large transfers in up to 40 writes).</summary>
    public void Send(Proc p, Sock s, long bytes, DateTimeOffset t)
    {
        var chunk = Math.Max(65_536, bytes / 40);
        var remaining = Math.Max(bytes, 1);
        var at = t;
        do
        {
            var n = Math.Min(chunk, remaining);
            w.Tetragon(at, Kprobe(p, ClusterWorld.NodeOf(p), at, "tcp_sendmsg", Policy, SockArgs(s with { State = "TCP_ESTABLISHED" }, n)));
            at = at.AddTicks(Math.Max(2_000, n / 12));
            remaining -= n;
        }
        while (remaining > 0);
    }

    /// <summary>Where a server pod receives: its sidecar's Envoy on 15006 when meshed, else the app's own port.</summary>
    private (CorpusPod Pod, Proc Proc, int Port) Front(Deployed target, CorpusPod server) =>
        target.Meshed && w.Runtime(server).Sidecar is { Processes.Count: > 0 } sc ? (sc, sc.Processes[^1], 15006) : (server, target.A.Server(w, target, server), target.A.Port);

    /// <summary>
    /// A request to an in-cluster workload and its response, over pooled connections through every hop; the server's
    /// archetype then does what that request makes it do (its own calls). Returns the server pod (null: refused).
    /// </summary>
    public CorpusPod? Call(CorpusPod client, Proc proc, Deployed target, DateTimeOffset t, long request, long response, double recycle = 0.004, int depth = 0, bool direct = false)
    {
        var servers = target.Running.ToList();
        var source = w.Of(client);
        if (servers.Count == 0 || depth > 4)
        {
            return null;
        }

        var key = $"{client.ContainerId}/{proc.Pid}>{target.Id}";
        _calls[(source.Id, target.Id)] = _calls.GetValueOrDefault((source.Id, target.Id)) + 1;
        var sidecar = source.Meshed ? w.Runtime(client).Sidecar : null;
        var envoy = sidecar is { Processes.Count: > 0 } ? sidecar.Processes[^1] : null;
        Link app;
        CorpusPod server;
        if (!_links.ContainsKey(key) && source.Sidecar != "envoy" && !direct)
        {
            // A new connection names the Service: the client resolves it first (unless its runtime still has the answer).
            t = Resolve(client, proc, ServiceName(source, target), [target.W.ServiceIp!], 30, t, source.A.DnsCacheSeconds);
        }

        if (envoy is not null)
        {
            // Istio intercepts transparently (the app's socket keeps the Service address; Cilium's socket LB is
            // confined to the host namespace under Istio); an explicit Envoy listens on 127.0.0.1:15001.
            var dst = source.Sidecar == "envoy" ? ("127.0.0.1", 15001) : (target.W.ServiceIp!, target.W.ServicePort);
            app = Open(key, proc, client, source.Sidecar == "envoy" ? "127.0.0.1" : client.Ip, dst.Item1, dst.Item2, envoy, sidecar, "127.0.0.1", 15001, t, recycle, out _);
            server = w.Pick(servers);
            var front = Front(target, server);
            var up = Open($"{sidecar!.ContainerId}>{server.Name}", envoy, sidecar, client.Ip, server.Ip, target.A.Port, front.Proc, front.Pod, server.Ip, front.Port, t.AddTicks(5_000), 0.001, out _);
            Send(proc, app.Out, request, t.AddTicks(10_000));
            Send(envoy, up.Out, request + 120, t.AddTicks(30_000));
            t = Deliver(target, server, front, up, request, response, t.AddTicks(40_000), depth);
            Send(envoy, app.In, response, t.AddTicks(20_000));
            return server;
        }

        server = _links.TryGetValue(key, out var pooled) && pooled.ToPod is { Alive: true } p ? Owner(p) : w.Pick(servers);
        var f = Front(target, server);
        var addr = socketLb || direct ? (server.Ip, target.A.Port) : (target.W.ServiceIp!, target.W.ServicePort);
        app = Open(key, proc, client, client.Ip, addr.Item1, addr.Item2, f.Proc, f.Pod, server.Ip, f.Port, t, recycle, out var fresh);
        server = Owner(app.ToPod!);
        f = Front(target, server);
        Send(proc, app.Out, request, t.AddTicks(fresh ? 8_000 : 1_000));
        Deliver(target, server, f, app, request, response, t.AddTicks(12_000), depth);
        return server;
    }

    /// <summary>
    /// A visitor from outside the cluster: one connection to a pod (through the load balancer; to its sidecar's Envoy
    /// when meshed), a few requests on it, each served by the workload, then closed by the client.
    /// </summary>
    public void Visit(Deployed target, CorpusPod server, string clientIp, int clientPort, int requests, DateTimeOffset t)
    {
        var front = Front(target, server);
        var port = front.Port == 15006 ? 15006 : target.A.Port;
        var conn = new Sock("tcp", server.Ip, port, clientIp, clientPort, "TCP_ESTABLISHED");
        w.Tetragon(t, Kprobe(front.Proc, server.Node.Name, t, "inet_csk_accept", Policy, SockArgs(new Sock("tcp", "0.0.0.0", port, "0.0.0.0", 0, "TCP_LISTEN")), conn));
        var link = new Link { From = front.Proc, Out = conn, To = front.Proc, In = conn, ToPod = front.Pod, Used = t };
        var at = t.AddMilliseconds(2);
        for (var i = 0; i < requests; i++)
        {
            at = Deliver(target, server, front, link, 500 + w.R.Next(0, 1_500), target.A.Response(w), at, 0).AddMilliseconds(w.R.Next(20, 3_000));
        }

        w.Tetragon(at, Kprobe(front.Proc, server.Node.Name, at, "tcp_close", Policy, SockArgs(conn)));
    }

    /// <summary>The main container of the pod a container belongs to.</summary>
    private CorpusPod Owner(CorpusPod container) => container.ContainerName is null ? container : w.Of(container).Running.FirstOrDefault(p => p.Name == container.Name) ?? container;

    /// <summary>The server side: through its own Envoy when meshed (from 127.0.0.6), then the app, which answers.</summary>
    private DateTimeOffset Deliver(Deployed target, CorpusPod server, (CorpusPod Pod, Proc Proc, int Port) front, Link arriving, long request, long response, DateTimeOffset t, int depth)
    {
        var app = target.A.Server(w, target, server);
        if (front.Port == 15006)
        {
            var inner = Open($"{front.Pod.ContainerId}>{server.ContainerId}", front.Proc, front.Pod, "127.0.0.6", server.Ip, target.A.Port, app, server, server.Ip, target.A.Port, t, 0.002, out _);
            Send(front.Proc, inner.Out, request, t.AddTicks(5_000));
            var done = target.A.Handle(w, target, server, app, request, t.AddTicks(10_000), depth + 1);
            Send(app, inner.In, response, done);
            Send(front.Proc, arriving.In, response + 120, done.AddTicks(15_000));
            return done.AddTicks(20_000);
        }

        var handled = target.A.Handle(w, target, server, app, request, t, depth + 1);
        Send(app, arriving.In, response, handled);
        return handled.AddTicks(5_000);
    }

    /// <summary>HTTPS (or any TCP) to a name outside the cluster: resolved when a new connection is needed, kept alive.</summary>
    public void External(CorpusPod pod, Proc proc, Peer peer, DateTimeOffset t, long sent, double recycle = 0.002)
    {
        var key = $"{pod.ContainerId}/{proc.Pid}>{peer.Host}:{peer.Port}";
        var known = _links.TryGetValue(key, out var existing);
        if (!known || (t - existing!.Used).TotalSeconds > peer.Idle || w.R.NextDouble() < recycle || !peer.Ips.Contains(existing.Out.Daddr))
        {
            // A new connection (first use, idle timeout, or the name's addresses moved) starts with a lookup.
            if (peer.Host.Length > 0 && !char.IsDigit(peer.Host[0]))
            {
                t = Resolve(pod, proc, peer.Host, peer.Ips, peer.Ttl, t, w.Of(pod).A.DnsCacheSeconds);
            }

            if (existing is not null)
            {
                _links.Remove(key);
                w.Tetragon(t, Kprobe(existing.From, pod.Node.Name, t, "tcp_close", Policy, SockArgs(existing.Out with { State = "TCP_ESTABLISHED" })));
            }

            if (w.R.NextDouble() < 0.004)
            {
                // The internet: now and then a connection is reset or times out, and the client retries after a back-off.
                var wait = w.R.NextDouble() < 0.5 ? 2 + w.R.Next(0, 20) : 1_000 + w.R.Next(0, 2_000);
                Failed(pod, proc, w.Pick(peer.Ips), peer.Port, t, wait);
                t = t.AddMilliseconds(wait + 100 + w.R.Next(0, 400));
            }
        }

        var link = Open(key, proc, pod, pod.Ip, w.Pick(peer.Ips), peer.Port, null, null, "", 0, t, 0, out var fresh);
        // TLS: a fresh connection's handshake writes a ClientHello and the key exchange before the request.
        Send(proc, link.Out, sent + (fresh ? 517 + 126 : 0), t.AddMilliseconds(fresh ? 15 + w.R.Next(0, 30) : 0));
    }

    /// <summary>A connection to nowhere: refused or timed out (no server answers); the client closes it and may retry.</summary>
    public void Failed(CorpusPod pod, Proc proc, string ip, int port, DateTimeOffset t, int afterMs)
    {
        var s = new Sock("tcp", pod.Ip, pod.EphemeralPort(), ip, port, "TCP_SYN_SENT");
        w.Tetragon(t, Kprobe(proc, pod.Node.Name, t, "tcp_connect", Policy, SockArgs(s)));
        w.Tetragon(t.AddMilliseconds(afterMs), Kprobe(proc, pod.Node.Name, t.AddMilliseconds(afterMs), "tcp_close", Policy, SockArgs(s with { State = "TCP_SYN_SENT" })));
    }

    /// <summary>
    /// A connection a network policy denies (a library phoning home past a default-deny egress policy): the lookup is
    /// allowed, the SYN and its retransmissions are dropped (Hubble's DROPPED flows), the client gives up after 10 s.
    /// </summary>
    public void Blocked(CorpusPod pod, Proc proc, Peer peer, DateTimeOffset t)
    {
        t = Resolve(pod, proc, peer.Host, peer.Ips, peer.Ttl, t, w.Of(pod).A.DnsCacheSeconds);
        var ip = w.Pick(peer.Ips);
        var s = new Sock("tcp", pod.Ip, pod.EphemeralPort(), ip, peer.Port, "TCP_SYN_SENT");
        w.Tetragon(t, Kprobe(proc, pod.Node.Name, t, "tcp_connect", Policy, SockArgs(s)));
        foreach (var after in new[] { 0, 1_000, 3_000, 7_000 })
        {
            w.Emit(t.AddMilliseconds(after + 1), "hubble", HubbleJson.Drop(pod, t.AddMilliseconds(after + 1), ip, peer.Port, s.Sport));
        }

        w.Tetragon(t.AddSeconds(10), Kprobe(proc, pod.Node.Name, t.AddSeconds(10), "tcp_close", Policy, SockArgs(s)));
    }

    /// <summary>A short connection from outside any pod (the kubelet, a load balancer's client): accept, answer, close.</summary>
    public void Inbound(CorpusPod server, Proc proc, int port, string clientIp, DateTimeOffset t, long response, bool close = true)
    {
        var conn = new Sock("tcp", server.Ip, port, clientIp, 32768 + w.R.Next(0, 28000), "TCP_ESTABLISHED");
        w.Tetragon(t, Kprobe(proc, server.Node.Name, t, "inet_csk_accept", Policy, SockArgs(new Sock("tcp", "0.0.0.0", port, "0.0.0.0", 0, "TCP_LISTEN")), conn));
        Send(proc, conn, response, t.AddTicks(8_000 + w.R.Next(0, 20_000)));
        if (close)
        {
            var end = t.AddTicks(40_000 + w.R.Next(0, 30_000));
            w.Tetragon(end, Kprobe(proc, server.Node.Name, end, "tcp_close", Policy, SockArgs(conn)));
        }
    }

    /// <summary>
    /// A scrape: Prometheus keeps one connection per target (its pod address, from service discovery, no Service in
    /// between), writes the GET, and the target writes its metrics page.
    /// </summary>
    public void Scrape(CorpusPod client, Proc proc, Deployed target, CorpusPod pod, Proc server, int port, DateTimeOffset t)
    {
        var link = Open($"{client.ContainerId}/{proc.Pid}>{pod.ContainerId}:{port}", proc, client, client.Ip, pod.Ip, port, server, pod, pod.Ip, port, t, 0, out var fresh);
        Send(proc, link.Out, 240 + w.R.Next(0, 40), t.AddTicks(fresh ? 6_000 : 500));
        var done = target.A.Metrics(w, target, pod, t.AddTicks(8_000));
        Send(server, link.In, target.A.MetricsBytes(w), done);
    }

    /// <summary>
    /// A long-lived connection (a watch, a replication stream, xDS): written to now and then, reopened only when asked.
    /// Returns the local port of a connection it had to open (0 when it used the open one).
    /// </summary>
    public int Stream(CorpusPod pod, Proc proc, string ip, int port, long bytes, DateTimeOffset t, Proc? server = null, CorpusPod? serverPod = null, bool reopen = false)
    {
        var key = $"{pod.ContainerId}/{proc.Pid}~{ip}:{port}";
        var link = Open(key, proc, pod, pod.Ip, ip, port, server, serverPod, serverPod?.Ip ?? "", port, t, reopen ? 1 : 0, out var fresh);
        Send(proc, link.Out, bytes, t);
        return fresh ? link.Out.Sport : 0;
    }

    /// <summary>The other direction of a long-lived connection (the server pushing to its client).</summary>
    public void Push(CorpusPod pod, Proc proc, string ip, int port, long bytes, DateTimeOffset t)
    {
        var key = $"{pod.ContainerId}/{proc.Pid}~{ip}:{port}";
        if (_links.TryGetValue(key, out var link) && link.To is { } server)
        {
            Send(server, link.In, bytes, t);
        }
    }
}
