using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Google.Protobuf;

namespace Roster.PeerBench.Etcd;

/// <summary>
/// gRPC over <see cref="HttpClient"/>: HTTP/2 without TLS (prior knowledge), <c>application/grpc</c>
/// and gRPC's message framing (one flag byte, a 4-byte big-endian length, the protobuf bytes). It is all
/// etcd's native API needs from a client, and it keeps the benchmark on packages that restore here.
/// One connection per instance, as one client process would have.
/// </summary>
internal sealed class GrpcConnection : IDisposable
{
    private static readonly MediaTypeHeaderValue GrpcContentType = new("application/grpc");
    private readonly HttpClient _client;

    public GrpcConnection(Uri address)
    {
        _client = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(2),
        })
        {
            BaseAddress = address,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public async Task<TResponse> UnaryAsync<TResponse>(string method, IMessage request, MessageParser<TResponse> parser, CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>
    {
        using var message = NewRequest(method, new ByteArrayContent(Frame(request)));
        using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(response);
        if (body.Length < 5)
        {
            throw new GrpcException(method, "empty response");
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1));
        return parser.ParseFrom(body, 5, length);
    }

    /// <summary>Opens a bidirectional stream; <paramref name="first"/> is sent before the call starts.</summary>
    public async Task<DuplexCall<TResponse>> DuplexAsync<TResponse>(string method, IMessage first, MessageParser<TResponse> parser, CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>
    {
        var content = new StreamingContent();
        content.Send(first);
        var message = NewRequest(method, content);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            content.Complete();
            message.Dispose();
            throw;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            content.Complete();
            message.Dispose();
            response.Dispose();
            throw new GrpcException(method, $"HTTP {(int)response.StatusCode}");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return new DuplexCall<TResponse>(message, response, content, stream, parser);
    }

    public void Dispose() => _client.Dispose();

    private static HttpRequestMessage NewRequest(string method, HttpContent content)
    {
        content.Headers.ContentType = GrpcContentType;
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(method, UriKind.Relative))
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        message.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        return message;
    }

    internal static byte[] Frame(IMessage message)
    {
        var size = message.CalculateSize();
        var frame = new byte[5 + size];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), size);
        message.WriteTo(frame.AsSpan(5));
        return frame;
    }

    private static void ThrowIfFailed(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new GrpcException(response.RequestMessage?.RequestUri?.ToString() ?? "?", $"HTTP {(int)response.StatusCode}");
        }

        // A failed call may answer "trailers-only": the status then arrives with the headers.
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? values.First()
            : response.Headers.TryGetValues("grpc-status", out values) ? values.First() : "0";
        if (status != "0")
        {
            var detail = response.TrailingHeaders.TryGetValues("grpc-message", out var messages) ? messages.First()
                : response.Headers.TryGetValues("grpc-message", out messages) ? messages.First() : "";
            throw new GrpcException(response.RequestMessage?.RequestUri?.ToString() ?? "?", $"grpc-status {status} {Uri.UnescapeDataString(detail)}");
        }
    }

    /// <summary>A request body that stays open and writes each queued message as it comes.</summary>
    internal sealed class StreamingContent : HttpContent
    {
        private readonly Channel<byte[]> _frames = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });

        public void Send(IMessage message) => _frames.Writer.TryWrite(Frame(message));

        public void Complete() => _frames.Writer.TryComplete();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await foreach (var frame in _frames.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>One open bidirectional call: send messages, read messages until the server ends it.</summary>
    internal sealed class DuplexCall<TResponse> : IDisposable
        where TResponse : IMessage<TResponse>
    {
        private readonly HttpRequestMessage _request;
        private readonly HttpResponseMessage _response;
        private readonly StreamingContent _content;
        private readonly Stream _stream;
        private readonly MessageParser<TResponse> _parser;
        private readonly byte[] _header = new byte[5];
        private byte[] _buffer = new byte[4096];

        internal DuplexCall(HttpRequestMessage request, HttpResponseMessage response, StreamingContent content, Stream stream, MessageParser<TResponse> parser)
        {
            _request = request;
            _response = response;
            _content = content;
            _stream = stream;
            _parser = parser;
        }

        public void Send(IMessage message) => _content.Send(message);

        /// <summary>The next message, or null when the server ended the stream.</summary>
        public async Task<TResponse?> ReadAsync(CancellationToken cancellationToken)
        {
            if (await _stream.ReadAtLeastAsync(_header, 5, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < 5)
            {
                return default;
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(_header.AsSpan(1));
            if (_buffer.Length < length)
            {
                _buffer = new byte[Math.Max(length, _buffer.Length * 2)];
            }

            await _stream.ReadExactlyAsync(_buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            return _parser.ParseFrom(_buffer, 0, length);
        }

        public void Dispose()
        {
            _content.Complete();
            _stream.Dispose();
            _response.Dispose();
            _request.Dispose();
        }
    }
}

internal sealed class GrpcException(string method, string detail) : Exception($"{method}: {detail}");
