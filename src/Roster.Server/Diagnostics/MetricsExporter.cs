using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Roster.Core.Diagnostics;

namespace Roster.Server.Diagnostics;

/// <summary>
/// Serves <c>/metrics</c> in the Prometheus text format from the instruments themselves: this node's
/// <c>Roster.Server</c> meter (scoped to the host's <see cref="IMeterFactory"/>), the core's <c>Roster.Core</c>
/// the runtime's <c>System.Runtime</c> and ASP.NET Core's <c>http.server.request.duration</c> (this host's
/// <c>Microsoft.AspNetCore.Hosting</c> meter; watch streams opt out of it, since a stream lasts as long as someone
/// watches).
/// Names follow OpenTelemetry's Prometheus mapping: dots become underscores, the unit is appended (<c>s</c> as
/// <c>_seconds</c>, <c>By</c> as <c>_bytes</c>) and counters end in <c>_total</c>.
/// </summary>
/// <remarks>
/// Our own renderer rather than OpenTelemetry's Prometheus exporter, which is still a beta: the instruments are
/// the same either way, histograms are aggregated here in fixed buckets without a lock, and an operator who
/// wants OpenTelemetry subscribes to the same meters. Observable instruments are read at scrape time, one
/// scrape at a time (the lock is held only around the synchronous collection, never across an await).
/// Only the request-duration instrument of ASP.NET Core's hosting meter is listened to (not its active-request
/// counter): every other instrument a listener enables costs work on every request. A CPU profile under registrations
/// put ASP.NET Core's tags and our series lookup at about 1.4 % of the node's CPU (docs/benchmarks.md).
/// </remarks>
internal sealed class MetricsExporter : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private readonly IMeterFactory _factory;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, byte> _instruments = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, int Hash), Series[]> _series = new();
    private readonly Lock _adding = new();
    private readonly Lock _scrape = new();
    private List<(Instrument Instrument, double Value, KeyValuePair<string, object?>[] Tags)>? _observed;

    public MetricsExporter(IMeterFactory factory)
    {
        _factory = factory;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (Wanted(instrument))
            {
                _instruments.TryAdd(instrument, 0);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.MeasurementsCompleted = (instrument, state) => _instruments.TryRemove(instrument, out var ignored);
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.Start();
    }

    public string Render()
    {
        List<(Instrument Instrument, double Value, KeyValuePair<string, object?>[] Tags)> observed;
        lock (_scrape)
        {
            _observed = [];
            _listener.RecordObservableInstruments();
            observed = _observed;
            _observed = null;
        }

        var text = new StringBuilder(8192);
        foreach (var instrument in _instruments.Keys.OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var name = PrometheusName(instrument);
            var type = instrument is Histogram<double> or Histogram<long> ? "histogram" : IsCounter(instrument) ? "counter" : "gauge";
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {instrument.Description}\n# TYPE {name} {type}\n");
            if (type == "histogram")
            {
                foreach (var series in SeriesOf(instrument).OfType<HistogramSeries>())
                {
                    series.Render(text, name);
                }
            }
            else if (instrument.IsObservable)
            {
                foreach (var (_, value, tags) in observed.Where(o => o.Instrument == instrument))
                {
                    text.Append(CultureInfo.InvariantCulture, $"{name}{Labels(tags)} {value}\n");
                }
            }
            else
            {
                foreach (var series in SeriesOf(instrument).OfType<SumSeries>())
                {
                    text.Append(CultureInfo.InvariantCulture, $"{name}{series.Labels} {series.Value}\n");
                }
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private bool Wanted(Instrument instrument) => instrument.Meter.Name switch
    {
        ServerTelemetry.Name => ReferenceEquals(instrument.Meter.Scope, _factory),
        CoreTelemetry.Name or "System.Runtime" => true,
        "Microsoft.AspNetCore.Hosting" => instrument.Name == "http.server.request.duration" && ReferenceEquals(instrument.Meter.Scope, _factory),
        _ => false,
    };

    private void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (instrument.IsObservable)
        {
            // Only during a scrape, on the scraping thread, under its lock.
            _observed?.Add((instrument, value, tags.ToArray()));
            return;
        }

        if (instrument is Histogram<double> or Histogram<long>)
        {
            ((HistogramSeries)Find(instrument, tags)).Record(value);
            return;
        }

        ((SumSeries)Find(instrument, tags)).Add(value);
    }

    private IEnumerable<Series> SeriesOf(Instrument instrument) => _series.Where(s => s.Key.Instrument == instrument).SelectMany(s => s.Value);

    /// <summary>
    /// The series of these tags: found by a hash of the span and a comparison, without allocating; made (under a
    /// lock held only while the arrays are copied) the first time a combination of tags is seen.
    /// </summary>
    private Series Find(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = new HashCode();
        foreach (var tag in tags)
        {
            hash.Add(tag.Key);
            hash.Add(tag.Value);
        }

        var key = (instrument, hash.ToHashCode());
        if (_series.TryGetValue(key, out var known))
        {
            foreach (var series in known)
            {
                if (series.Matches(tags))
                {
                    return series;
                }
            }
        }

        lock (_adding)
        {
            var current = _series.GetValueOrDefault(key) ?? [];
            foreach (var series in current)
            {
                if (series.Matches(tags))
                {
                    return series;
                }
            }

            var owned = tags.ToArray();
            Series created = instrument is Histogram<double> or Histogram<long>
                ? new HistogramSeries(BucketsOf(instrument), owned)
                : new SumSeries(owned);
            _series[key] = [.. current, created];
            return created;
        }
    }

    private static double[] BucketsOf(Instrument instrument) =>
        (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray() ?? SecondsBuckets;

    private static bool IsCounter(Instrument instrument) =>
        instrument.GetType() is { IsGenericType: true } type
        && type.GetGenericTypeDefinition() is var definition && (definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>));

    internal static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_').Replace('-', '_');
        var unit = instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => string.Empty,
        };
        if (!name.EndsWith(unit, StringComparison.Ordinal))
        {
            name += unit;
        }

        return IsCounter(instrument) ? name + "_total" : name;
    }

    internal static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var text = new StringBuilder("{");
        for (var i = 0; i < tags.Length; i++)
        {
            var value = Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? string.Empty;
            text.Append(i == 0 ? string.Empty : ",")
                .Append(tags[i].Key.Replace('.', '_'))
                .Append("=\"")
                .Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal))
                .Append('"');
        }

        return text.Append('}').ToString();
    }

    /// <summary>One combination of tags of an instrument.</summary>
    private abstract class Series(KeyValuePair<string, object?>[] tags)
    {
        public string Labels { get; } = MetricsExporter.Labels(tags);

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> other)
        {
            if (other.Length != tags.Length)
            {
                return false;
            }

            for (var i = 0; i < tags.Length; i++)
            {
                if (other[i].Key != tags[i].Key || !Equals(other[i].Value, tags[i].Value))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Fixed buckets, a count and a sum, updated without a lock (the core's <see cref="LatencyHistogram"/>).</summary>
    private sealed class HistogramSeries(double[] bounds, KeyValuePair<string, object?>[] tags) : Series(tags)
    {
        private readonly LatencyHistogram _histogram = new(bounds);

        public void Record(double value) => _histogram.Record(value);

        public void Render(StringBuilder text, string name) => _histogram.WritePrometheus(text, name, Labels);
    }

    private sealed class SumSeries(KeyValuePair<string, object?>[] tags) : Series(tags)
    {
        private double _value;

        public double Value => Volatile.Read(ref _value);

        public void Add(double value)
        {
            double seen, next;
            do
            {
                seen = Volatile.Read(ref _value);
                next = seen + value;
            }
            while (Interlocked.CompareExchange(ref _value, next, seen) != seen);
        }
    }
}
