using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// Rolls an event's identity up to its <see cref="WorkloadKey"/>:
/// <list type="number">
/// <item>a ReplicaSet owner with a pod-template-hash suffix becomes its Deployment; a Job named like a CronJob's
/// (<c>name-&lt;minutes since epoch&gt;</c>) becomes its CronJob;</item>
/// <item>no owner: a pod named <c>name-&lt;template hash&gt;-&lt;5 chars&gt;</c> is taken as a Deployment's pod,
/// any other bare pod is its own workload (<c>Pod/&lt;name&gt;</c>);</item>
/// <item>no Kubernetes metadata: the image repository (tag and digest dropped, so an upgrade keeps the key),
/// then the container id.</item>
/// </list>
/// Resolution is cached per identity; the cache is bounded and simply cleared when full.
/// Not thread-safe: one per consumer thread.
/// </summary>
public sealed class WorkloadResolver(string defaultCluster = "local", int capacity = 16384)
{
    private const string Missing = "-";

    // Kubernetes' SafeEncodeString alphabet: pod-template-hash and pod suffixes use only these characters.
    private const string HashAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    private readonly Dictionary<WorkloadRef, WorkloadKey> _cache = new(new IdentityComparer());

    /// <summary>Times the identity cache was full and cleared (each time dropping <c>capacity</c> identities).</summary>
    public long Evictions { get; private set; }

    /// <summary>Identities cached now, never more than the capacity (tests).</summary>
    internal int Count => _cache.Count;

    public WorkloadKey Resolve(in WorkloadRef w)
    {
        if (_cache.TryGetValue(w, out var key))
        {
            return key;
        }

        key = Compute(w, defaultCluster);
        if (key.Container == Missing)
        {
            // Some sensors see pods, not containers (Hubble): such an event belongs to the workload's container when
            // the workload has one, so its network and DNS facts land on the same baseline as the process events.
            return WithKnownContainer(w, key);
        }

        var owner = (key.Cluster, key.Namespace, key.OwnerKind, key.OwnerName);
        if (!_containers.TryGetValue(owner, out var known) || (known is not null && known.Container != key.Container))
        {
            _containers[owner] = known is null && !_containers.ContainsKey(owner) ? key : null; // null: several containers
            _containerless.Clear();
            if (_containers.Count >= capacity)
            {
                _containers.Clear();
            }
        }

        if (_cache.Count >= capacity)
        {
            // Bounded: an attacker inventing pod names costs a recompute, not memory.
            _cache.Clear();
            Evictions++;
        }

        _cache[w] = key;
        return key;
    }

    private readonly Dictionary<(string, string, string, string), WorkloadKey?> _containers = new();
    private readonly Dictionary<WorkloadRef, WorkloadKey> _containerless = new(new IdentityComparer());

    private WorkloadKey WithKnownContainer(in WorkloadRef w, WorkloadKey computed)
    {
        if (_containerless.TryGetValue(w, out var cached))
        {
            return cached;
        }

        var result = _containers.TryGetValue((computed.Cluster, computed.Namespace, computed.OwnerKind, computed.OwnerName), out var only) && only is not null ? only : computed;
        if (_containerless.Count >= capacity)
        {
            _containerless.Clear();
        }

        _containerless[w] = result;
        return result;
    }

    public static WorkloadKey Compute(in WorkloadRef w, string defaultCluster)
    {
        var cluster = NonEmpty(w.Cluster) ?? defaultCluster;
        var container = NonEmpty(w.Container) ?? Missing;
        var ns = NonEmpty(w.Namespace);
        var ownerKind = NonEmpty(w.OwnerKind);
        var ownerName = NonEmpty(w.OwnerName);
        var pod = NonEmpty(w.Pod);

        if (ownerKind is not null && ownerName is not null)
        {
            if (ownerKind == "ReplicaSet" && TryStripHashSuffix(ownerName, w.Labels["pod-template-hash"], out var deployment))
            {
                return new WorkloadKey(cluster, ns ?? Missing, "Deployment", deployment, container);
            }

            if (ownerKind == "Job" && TryStripCronJobSuffix(ownerName, out var cronJob))
            {
                return new WorkloadKey(cluster, ns ?? Missing, "CronJob", cronJob, container);
            }

            return new WorkloadKey(cluster, ns ?? Missing, ownerKind, ownerName, container);
        }

        if (pod is not null)
        {
            if (TryDeploymentFromPodName(pod, w.Labels["pod-template-hash"], out var deployment))
            {
                return new WorkloadKey(cluster, ns ?? Missing, "Deployment", deployment, container);
            }

            return new WorkloadKey(cluster, ns ?? Missing, "Pod", pod, container);
        }

        if (NonEmpty(w.Image) is { } image)
        {
            return new WorkloadKey(cluster, ns ?? Missing, "Image", ImageRepository(image), container);
        }

        if (NonEmpty(w.ContainerId) is { } id)
        {
            return new WorkloadKey(cluster, ns ?? Missing, "Container", ShortContainerId(id), container);
        }

        return new WorkloadKey(cluster, ns ?? Missing, "Unknown", Missing, container);
    }

    /// <summary><c>ghcr.io/acme/cart:1.4@sha256:..</c> → <c>ghcr.io/acme/cart</c>. A registry port (<c>host:5000/x</c>) is kept.</summary>
    public static string ImageRepository(string image)
    {
        var at = image.IndexOf('@');
        var s = at >= 0 ? image[..at] : image;
        var slash = s.LastIndexOf('/');
        var colon = s.LastIndexOf(':');
        return colon > slash ? s[..colon] : s;
    }

    /// <summary><c>containerd://0123456789abcdef...</c> → <c>0123456789ab</c> (the 12 characters docker and crictl show).</summary>
    public static string ShortContainerId(string id)
    {
        var s = ShortContainerIdSpan(id);
        return s.Length == id.Length ? id : s.ToString();
    }

    /// <summary>
    /// The <see cref="ShortContainerId"/> of an id without allocating: how one container is compared across sensors, which
    /// write its id differently (Tetragon <c>containerd://&lt;64 hex&gt;</c>, Falco the 12-character short id, Tracee the
    /// bare id).
    /// </summary>
    public static ReadOnlySpan<char> ShortContainerIdSpan(string id)
    {
        var s = WithoutRuntime(id);
        return s.Length > 12 ? s[..12] : s;
    }

    /// <summary>
    /// True when both ids name the same container (both null: both none): without the runtime's prefix, case-folded, the
    /// two ids are equal, or one is a short id (12 characters or fewer) that the other starts with.
    /// </summary>
    public static bool SameContainer(string? a, string? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null)
        {
            return false;
        }

        var x = WithoutRuntime(a);
        var y = WithoutRuntime(b);
        if (x.Length > 12 && y.Length > 12)
        {
            return x.Equals(y, StringComparison.OrdinalIgnoreCase);
        }

        var n = Math.Min(x.Length, y.Length);
        return n == Math.Min(Math.Max(x.Length, y.Length), 12) && x[..n].Equals(y[..n], StringComparison.OrdinalIgnoreCase);
    }

    private static ReadOnlySpan<char> WithoutRuntime(string id)
    {
        var sep = id.IndexOf("://", StringComparison.Ordinal);
        return sep >= 0 ? id.AsSpan(sep + 3) : id.AsSpan();
    }

    private static bool TryStripHashSuffix(string name, string? templateHash, out string stripped)
    {
        var dash = name.LastIndexOf('-');
        if (dash > 0)
        {
            var suffix = name.AsSpan(dash + 1);
            if ((templateHash is not null && suffix.SequenceEqual(templateHash)) || LooksLikeHash(suffix, 6, 10))
            {
                stripped = name[..dash];
                return true;
            }
        }

        stripped = name;
        return false;
    }

    private static bool TryStripCronJobSuffix(string name, out string stripped)
    {
        // CronJob controllers name Jobs <cronjob>-<scheduled time in minutes since the epoch> (8+ digits).
        var dash = name.LastIndexOf('-');
        if (dash > 0 && name.Length - dash - 1 >= 8 && name.AsSpan(dash + 1).IndexOfAnyExceptInRange('0', '9') < 0)
        {
            stripped = name[..dash];
            return true;
        }

        stripped = name;
        return false;
    }

    private static bool TryDeploymentFromPodName(string pod, string? templateHash, out string deployment)
    {
        deployment = pod;
        var last = pod.LastIndexOf('-');
        if (last <= 0 || pod.Length - last - 1 != 5 || !LooksLikeHash(pod.AsSpan(last + 1), 5, 5))
        {
            return false;
        }

        var rsName = pod[..last];
        return TryStripHashSuffix(rsName, templateHash, out deployment) && deployment.Length > 0;
    }

    private static bool LooksLikeHash(ReadOnlySpan<char> s, int min, int max) =>
        s.Length >= min && s.Length <= max && s.IndexOfAnyExcept(HashAlphabet) < 0;

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>Compares the identity fields that decide the key (labels only through pod-template-hash).</summary>
    private sealed class IdentityComparer : IEqualityComparer<WorkloadRef>
    {
        public bool Equals(WorkloadRef a, WorkloadRef b) =>
            a.Cluster == b.Cluster && a.Namespace == b.Namespace && a.Pod == b.Pod && a.Container == b.Container &&
            a.OwnerKind == b.OwnerKind && a.OwnerName == b.OwnerName && a.Image == b.Image && a.ContainerId == b.ContainerId &&
            a.Labels["pod-template-hash"] == b.Labels["pod-template-hash"];

        public int GetHashCode(WorkloadRef w) => HashCode.Combine(w.Namespace, w.Pod, w.Container, w.OwnerName, w.Image, w.ContainerId);
    }
}
