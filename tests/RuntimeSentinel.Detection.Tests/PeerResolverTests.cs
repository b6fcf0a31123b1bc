using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class PeerResolverTests
{
    private static readonly WorkloadResolver Workloads = new("prod");

    private static WorkloadRef Pod(string ns, string owner, string kind = "ReplicaSet") =>
        new("prod", ns, owner + "-1", owner, "c-" + owner, "img", "sha256:1", kind, kind == "ReplicaSet" ? owner + "-7d9f8b6c5b" : owner, LabelSet.Empty);

    private static RuntimeEvent Net(EventKind kind, WorkloadRef w, string local, int lport, string remote, int rport, NetDirection d, int secondsIn = 0) =>
        Some.Event(kind, w) with { Timestamp = Some.Time.AddSeconds(secondsIn), Net = new NetInfo("tcp", local, lport, remote, rport, 0, 0) { Direction = d } };

    [Fact]
    public void Observe_PodIpChurn_PeerKeepsItsWorkloadIdentity()
    {
        var r = new PeerResolver(new NetworkOptions());
        var api = Pod("shop", "api");
        var db = Pod("data", "postgres", "StatefulSet");
        var apiKey = Workloads.Resolve(api);
        var dbKey = Workloads.Resolve(db);

        // The database's own address is learned from its accepted connection; the API's connections to it and to its
        // replacement (a new pod IP after a restart) are the same peer.
        r.Observe(Net(EventKind.NetAccept, db, "10.244.2.7", 5432, "10.244.1.11", 56908, NetDirection.Inbound), dbKey);
        var first = r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41000, "10.244.2.7", 5432, NetDirection.Outbound, 1), apiKey);
        r.Observe(Net(EventKind.NetAccept, db, "10.244.3.9", 5432, "10.244.1.11", 41002, NetDirection.Inbound, 60), dbKey);
        var second = r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41002, "10.244.3.9", 5432, NetDirection.Outbound, 61), apiKey);
        Assert.Equal("postgres (data/StatefulSet/postgres)", first);
        Assert.Equal(first, second);
        Assert.Equal(3, r.KnownAddresses); // the API's own address and both of the database's
    }

    [Fact]
    public void Observe_ConnectToAReplicaNotClaimedYet_IsTheServiceTheClientUsuallyReachesOnThatPort()
    {
        var r = new PeerResolver(new NetworkOptions());
        var api = Pod("shop", "api");
        var cache = Pod("data", "cache", "StatefulSet");
        var apiKey = Workloads.Resolve(api);
        var cacheKey = Workloads.Resolve(cache);
        r.Observe(Net(EventKind.NetAccept, cache, "10.244.2.7", 6379, "10.244.1.11", 56908, NetDirection.Inbound), cacheKey);
        Assert.Equal("cache (data/StatefulSet/cache)", r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41000, "10.244.2.7", 6379, NetDirection.Outbound, 1), apiKey));

        // The cache restarted on another node: the client's connect comes milliseconds before the new pod's accept, the
        // event that claims its address. The client reaches what it always reaches on 6379.
        var early = r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41002, "10.244.5.3", 6379, NetDirection.Outbound, 120), apiKey);
        Assert.Equal("cache (data/StatefulSet/cache)", early);

        // An address that stays unclaimed is a Service address no pod answers from: "cluster", as the client learned it.
        Assert.Equal(PeerResolver.ClusterIdentity, r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41007, "10.244.5.3", 6379, NetDirection.Outbound, 120), apiKey));

        // A port it never reached a workload on, another client, or an accept, stay "cluster".
        Assert.Equal(PeerResolver.ClusterIdentity, r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41003, "10.244.5.4", 5432, NetDirection.Outbound, 121), apiKey));
        var worker = Workloads.Resolve(Pod("shop", "worker"));
        Assert.Equal(PeerResolver.ClusterIdentity, r.Observe(Net(EventKind.NetConnect, Pod("shop", "worker"), "10.244.1.12", 41004, "10.244.5.8", 6379, NetDirection.Outbound, 122), worker));
        Assert.Equal(PeerResolver.ClusterIdentity, r.Observe(Net(EventKind.NetAccept, api, "10.244.1.11", 8080, "10.244.5.9", 50000, NetDirection.Inbound, 123), apiKey));

        // Only while the usual peer is fresh: after the address TTL the port's history is no evidence.
        Assert.Equal(PeerResolver.ClusterIdentity, r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41005, "10.244.6.3", 6379, NetDirection.Outbound, 120 + (int)new NetworkOptions().AddressTtl.TotalSeconds + 5), apiKey));
    }

    [Fact]
    public void Observe_HubbleAnswerNamingNoContainer_NamesTheConnectOfThePodsContainer()
    {
        // Hubble names the pod, never the container; Tetragon's connect names both. A pod's containers share its network.
        var r = new PeerResolver(new NetworkOptions());
        var api = Pod("shop", "api");
        var hubbleSide = api with { Container = null };
        r.Observe(Some.Dns("api.twilio.com.", hubbleSide) with { DnsAnswers = "54.228.183.71" }, Workloads.Resolve(hubbleSide));
        Assert.Equal("api.twilio.com", r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41000, "54.228.183.71", 443, NetDirection.Outbound), Workloads.Resolve(api)));
    }

    [Fact]
    public void Observe_ConnectWhileTheLookupsResponseIsOnItsWay_IsTheNameLookedUp()
    {
        var r = new PeerResolver(new NetworkOptions());
        var api = Pod("shop", "api");
        var key = Workloads.Resolve(api);
        RuntimeEvent Lookup(string name, string l7, bool reply, int ms) => Some.Dns(name, api) with
        {
            Timestamp = Some.Time.AddMilliseconds(ms),
            Labels = reply ? LabelSet.Of(("source", "hubble"), ("hubble.reply", "true"), ("hubble.l7", l7)) : LabelSet.Of(("source", "hubble"), ("hubble.l7", l7)),
        };

        // The search list's misses are answered; the real name's request is out; the connect comes before its response.
        r.Observe(Lookup("api.stripe.com.shop.svc.cluster.local.", "REQUEST", false, 0), key);
        r.Observe(Lookup("api.stripe.com.shop.svc.cluster.local.", "RESPONSE", true, 1), key);
        r.Observe(Lookup("api.stripe.com.", "REQUEST", false, 2), key);
        Assert.Equal("api.stripe.com", r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41000, "54.245.164.127", 443, NetDirection.Outbound) with { Timestamp = Some.Time.AddMilliseconds(8) }, key));

        // Once answered (here without the address) or after PendingAnswer, an unnamed outside address is its network.
        r.Observe(Lookup("api.stripe.com.", "RESPONSE", true, 9), key);
        Assert.Equal("54.245.164.0/24", r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41001, "54.245.164.127", 443, NetDirection.Outbound) with { Timestamp = Some.Time.AddMilliseconds(10) }, key));
        r.Observe(Lookup("api.other.example.", "REQUEST", false, 20), key);
        Assert.Equal("54.245.164.0/24", r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41002, "54.245.164.127", 443, NetDirection.Outbound) with { Timestamp = Some.Time.AddMilliseconds(20) + PeerResolver.PendingAnswer + TimeSpan.FromMilliseconds(1) }, key));
    }

    [Fact]
    public void Observe_DnsAnswersThatRotate_PeerIsTheName()
    {
        var r = new PeerResolver(new NetworkOptions());
        var api = Pod("shop", "api");
        var key = Workloads.Resolve(api);
        r.Observe(Some.Dns("api.paygate.example.", api) with { DnsAnswers = "198.51.100.7,198.51.100.8" }, key);
        var a = r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41000, "198.51.100.8", 443, NetDirection.Outbound), key);
        r.Observe(Some.Dns("api.paygate.example", api) with { DnsAnswers = "203.0.113.50", Timestamp = Some.Time.AddMinutes(5) }, key);
        var b = r.Observe(Net(EventKind.NetConnect, api, "10.244.1.11", 41001, "203.0.113.50", 443, NetDirection.Outbound, 301), key);
        Assert.Equal(("api.paygate.example", "api.paygate.example"), (a, b));

        // Another workload that never resolved the name sees the network, not the name.
        var other = Workloads.Resolve(Pod("shop", "worker"));
        Assert.Equal("203.0.113.0/24", r.Resolve(other, "203.0.113.50"));
    }

    [Fact]
    public void Resolve_UnclaimedClusterAddressAndExternal_AreTheClusterAndTheNetwork()
    {
        var r = new PeerResolver(new NetworkOptions());
        var key = Workloads.Resolve(Pod("shop", "api"));
        Assert.Equal(PeerResolver.ClusterIdentity, r.Resolve(key, "10.96.0.20"));
        Assert.Equal("93.184.216.0/24", r.Resolve(key, "93.184.216.34"));
        Assert.Equal("2001:db8:1:2::/64", r.Resolve(key, "2001:db8:1:2:3:4:5:6"));
        Assert.True(r.IsEphemeral(56908));
        Assert.False(r.IsEphemeral(5432));
    }

    [Fact]
    public void Observe_HostNetworkAndLoopback_NeverClaimAnAddress()
    {
        var r = new PeerResolver(new NetworkOptions());
        var host = Some.Event(EventKind.NetConnect) with { Workload = new WorkloadRef(null, null, null, null, null, null, null, "Host", "node-a", LabelSet.Empty) };
        r.Observe(host with { Net = new NetInfo("tcp", "192.168.1.10", 40000, "10.96.0.1", 443, 0, 0) { Direction = NetDirection.Outbound } }, Workloads.Resolve(host.Workload));
        var api = Pod("shop", "api");
        r.Observe(Net(EventKind.NetConnect, api, "127.0.0.1", 40000, "127.0.0.1", 8080, NetDirection.Outbound), Workloads.Resolve(api));
        Assert.Equal(0, r.KnownAddresses);
    }

    [Fact]
    public void Observe_SensorNamedPeer_IsUsedAndTeachesTheAddress()
    {
        var r = new PeerResolver(new NetworkOptions());
        var api = Pod("shop", "api");
        var key = Workloads.Resolve(api);
        var e = Net(EventKind.NetConnect, api, "10.244.1.11", 41000, "10.244.5.5", 6379, NetDirection.Outbound) with { Labels = LabelSet.Of((PeerResolver.PeerWorkloadLabel, "cache/StatefulSet/redis")) };
        Assert.Equal("redis (cache/StatefulSet/redis)", r.Observe(e, key));
        Assert.Equal("redis (cache/StatefulSet/redis)", r.Resolve(Workloads.Resolve(Pod("shop", "worker")), "10.244.5.5"));
    }

    [Fact]
    public void Observe_FloodOfUniqueAddresses_StaysBounded()
    {
        var r = new PeerResolver(new NetworkOptions { MaxAddresses = 1000, MaxAnswers = 1000 });
        var api = Pod("shop", "api");
        var key = Workloads.Resolve(api);
        for (var i = 0; i < 20_000; i++)
        {
            var ip = $"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}";
            r.Observe(Net(EventKind.NetAccept, api, ip, 8080, "10.1.1.1", 40000, NetDirection.Inbound, i), key);
            r.Observe(Some.Dns("n" + i + ".example", api) with { DnsAnswers = "198.51." + ((i >> 8) & 255) + "." + (i & 255), Timestamp = Some.Time.AddSeconds(i) }, key);
        }

        Assert.InRange(r.KnownAddresses, 1, 1000);
        Assert.InRange(r.KnownAnswers, 1, 1000);
    }
}
