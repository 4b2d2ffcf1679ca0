namespace Roster.Cluster;

/// <summary>
/// How a node reaches the cluster's message bus: the brokers of one RabbitMQ cluster, and the stream and
/// exchange every node of one Roster cluster shares. Bound to <c>Roster:Cluster</c>.
/// </summary>
public sealed class BusOptions
{
    /// <summary>AMQP addresses of the brokers (<c>amqp://user:password@host:port/vhost</c>); a node connects to any
    /// that answers, and to another when it fails. User, password and vhost come from the first.</summary>
    public IList<Uri> Brokers { get; } = [];

    /// <summary>For <c>amqps://</c> brokers whose certificates a private CA issues: a PEM file of that CA's certificates;
    /// only they are then trusted for the brokers, and the broker's name must still match its certificate. Default: the
    /// machine's trust store.</summary>
    public string? CaFile { get; set; }

    /// <summary>A PEM client certificate to present to brokers that ask for one (with <see cref="ClientKeyFile"/>), for
    /// RabbitMQ's <c>verify_peer</c> with <c>fail_if_no_peer_cert</c>. Default: none.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>The PEM private key of <see cref="ClientCertificateFile"/>.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>The stream queue that is the cluster's change log. Every node of a cluster names the same one.</summary>
    public string StreamName { get; set; } = "roster.log";

    /// <summary>The fanout exchange nodes announce themselves on (outside the log).</summary>
    public string MembersExchange { get; set; } = "roster.members";

    /// <summary>Retention: the stream keeps at most this many bytes (whole segments are dropped). Default 2 GiB.</summary>
    public long MaxLengthBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Size of one stream segment file, the unit retention drops. Default 100 MB.</summary>
    public long SegmentBytes { get; set; } = 100_000_000;

    /// <summary>Retention of the checkpoint stream (<c>{StreamName}.checkpoints</c>): it keeps the newest
    /// checkpoints within this many bytes. A node reads all of them at start, so keep it to a few checkpoints'
    /// worth. Default 256 MB.</summary>
    public long CheckpointRetentionBytes { get; set; } = 256_000_000;

    /// <summary>Unacknowledged deliveries a node's reader accepts at once.</summary>
    public ushort Prefetch { get; set; } = 1000;

    /// <summary>How long an append waits for its publisher confirm before its outcome counts as unknown
    /// (the change may still appear; its callers wait for it until their write deadline).</summary>
    public TimeSpan ConfirmTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First wait before reconnecting after the bus was lost; doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a node announces itself to the others.</summary>
    public TimeSpan AnnounceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Copies of one batch further apart than this many messages are both applied (see <see cref="Roster.Core.Log.Stream.StreamChangeLog"/>).</summary>
    public int DedupWindow { get; set; } = Roster.Core.Log.Stream.StreamChangeLog.DefaultDedupWindow;

    /// <summary>These options reaching the same brokers the same way (TLS, timeouts, delays) for another stream: every
    /// connection setting is carried over, so one added later cannot be forgotten by a copy made field by field.</summary>
    internal BusOptions ForStream(string streamName, ushort prefetch)
    {
        var copy = (BusOptions)MemberwiseClone();
        copy.StreamName = streamName;
        copy.Prefetch = prefetch;
        return copy;
    }
}
