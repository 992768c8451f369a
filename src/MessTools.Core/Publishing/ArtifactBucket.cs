using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MessTools.Core.Artifacts;
using MessTools.Core.Aws;
using MessTools.Core.Common;

namespace MessTools.Core.Publishing;

/// <summary>Server-side encryption of uploaded objects: none (the bucket's default), AES256 or aws:kms with an optional key id.</summary>
public sealed record ArtifactEncryption(string? Method = null, string? KmsKeyId = null)
{
    public void Validate()
    {
        if (Method is not (null or "AES256" or "aws:kms"))
            throw new MessException(MessErrorIds.InvalidServerSideEncryption, MessErrorKind.InvalidArgument, $"-ServerSideEncryption '{Method}' is not AES256 or aws:kms.", "ServerSideEncryption");
        if (KmsKeyId is not null && Method != "aws:kms")
            throw new MessException(MessErrorIds.KmsKeyWithoutKms, MessErrorKind.InvalidArgument, "-KmsKeyId needs -ServerSideEncryption aws:kms.", "KmsKeyId");
    }
}

/// <summary>
/// The S3 operations of publishing and importing, on one client: retries with backoff, a SHA-256 checksum on every upload,
/// multipart for large files, verified streaming downloads, and 403 / missing-bucket errors that name bucket and prefix.
/// </summary>
internal sealed class ArtifactBucket : IDisposable
{
    private readonly IAmazonS3 _s3;
    private readonly bool _ownsClient;
    public ArtifactRemote Remote { get; }

    public ArtifactBucket(ArtifactRemote remote, IAmazonS3? client = null)
    {
        remote.Validate();
        Remote = remote;
        _s3 = client ?? remote.Connection.CreateClient(Math.Max(64, remote.ThrottleLimit * remote.PartConcurrency));
        _ownsClient = client is null;
    }

    /// <summary>The object's bytes, or null when the key does not exist (a missing bucket is an error).</summary>
    public Task<byte[]?> TryGetBytesAsync(string key, CancellationToken ct) => RunAsync(key, async () =>
    {
        try
        {
            using var r = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = Remote.Bucket, Key = key }, ct).ConfigureAwait(false);
            using var ms = new MemoryStream();
            await r.ResponseStream.CopyToAsync(ms, ct).ConfigureAwait(false);
            return (byte[]?)ms.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
    }, ct);

    /// <summary>Every key (with size and last-modified time) under <paramref name="prefix"/>; with a delimiter, only the next level's folders.</summary>
    public async Task<(List<S3Object> Objects, List<string> Folders)> ListAsync(string prefix, bool foldersOnly, CancellationToken ct)
    {
        var objects = new List<S3Object>();
        var folders = new List<string>();
        string? token = null;
        do
        {
            var page = await RunAsync(prefix, () => _s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = Remote.Bucket, Prefix = prefix, ContinuationToken = token, Delimiter = foldersOnly ? "/" : null,
            }, ct), ct).ConfigureAwait(false);
            if (page.S3Objects is not null) objects.AddRange(page.S3Objects);
            if (page.CommonPrefixes is not null) folders.AddRange(page.CommonPrefixes);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
        return (objects, folders);
    }

    /// <summary>Puts a small object (manifest, pointer) with its SHA-256 checksum.</summary>
    public Task PutBytesAsync(string key, byte[] body, ArtifactEncryption sse, CancellationToken ct) => RunAsync(key, async () =>
    {
        var req = new PutObjectRequest
        {
            BucketName = Remote.Bucket, Key = key, InputStream = new MemoryStream(body), ContentType = "application/json",
            ChecksumAlgorithm = ChecksumAlgorithm.SHA256, ChecksumSHA256 = Convert.ToBase64String(SHA256.HashData(body)),
        };
        Encrypt(req, sse);
        await _s3.PutObjectAsync(req, ct).ConfigureAwait(false);
        return 0;
    }, ct);

    /// <summary>
    /// Uploads a file: one PUT carrying the SHA-256 the manifest lists (S3 refuses the object if the bytes differ), or a
    /// multipart upload, each part checked by S3 by its CRC32 (and over http by its signed SHA-256 too), for files of at
    /// least <see cref="ArtifactRemote.MultipartThreshold"/>.
    /// Bodies are sent as they are, with the checksum in a header (no aws-chunked encoding): the SDK's default, a signed
    /// chunk every 80 KB with a trailing checksum, cost the endpoint a decoding pass over every byte and made publishing to
    /// moto 0.74x boto3's upload_file, which sends plain bodies over http too.
    /// </summary>
    public async Task UploadFileAsync(string key, string path, string sha256, long size, ArtifactEncryption sse, Action<long>? onBytes, CancellationToken ct)
    {
        if (size < Remote.MultipartThreshold)
        {
            var progress = new ByteProgress(onBytes);
            await RunAsync(key, async () =>
            {
                progress.Restart(); // a retry starts again
                var req = new PutObjectRequest
                {
                    BucketName = Remote.Bucket, Key = key, FilePath = path, ContentType = "application/octet-stream", UseChunkEncoding = false,
                    DisablePayloadSigning = IsHttps, ChecksumAlgorithm = ChecksumAlgorithm.SHA256, ChecksumSHA256 = Convert.ToBase64String(Convert.FromHexString(sha256)),
                };
                req.Metadata.Add(ContentSha256Metadata, sha256);
                req.StreamTransferProgress += (_, e) => progress.Report(e.TransferredBytes);
                Encrypt(req, sse);
                await _s3.PutObjectAsync(req, ct).ConfigureAwait(false);
                progress.Report(size);
                return 0;
            }, ct).ConfigureAwait(false);
            return;
        }
        await UploadMultipartAsync(key, path, sha256, size, sse, onBytes, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A multipart upload: parts of <see cref="ArtifactRemote.PartSize"/> read straight from the file, up to
    /// <see cref="ArtifactRemote.PartConcurrency"/> at once, each retried on its own; an upload that fails is aborted so no
    /// parts are left billed in the bucket.
    /// </summary>
    private async Task UploadMultipartAsync(string key, string path, string sha256, long size, ArtifactEncryption sse, Action<long>? onBytes, CancellationToken ct)
    {
        // Every part carries a CRC32 we take ourselves with System.IO.Hashing (the SDK's own CRC32 is a table-driven loop
        // that cost the client about 1.5 s of CPU per GB). Over http the signature covers the part's SHA-256 as well, but
        // the CRC is sent there too: an upload without a checksum algorithm gets a full-object CRC64NVME, for which moto
        // copies every part into one buffer at completion (ArtifactBench, 192 MB, quiet: 0.57 of boto3's upload_file
        // without the part CRC, 0.81 with it).
        var init = new InitiateMultipartUploadRequest
        {
            BucketName = Remote.Bucket, Key = key, ContentType = "application/octet-stream",
            ChecksumAlgorithm = ChecksumAlgorithm.CRC32,
        };
        init.Metadata.Add(ContentSha256Metadata, sha256);
        if (sse.Method is not null)
        {
            init.ServerSideEncryptionMethod = ServerSideEncryptionMethod.FindValue(sse.Method);
            if (sse.KmsKeyId is not null) init.ServerSideEncryptionKeyManagementServiceKeyId = sse.KmsKeyId;
        }
        // Not cancelled halfway: an upload S3 created but whose id never came back could not be aborted.
        string uploadId = (await RunAsync(key, () => _s3.InitiateMultipartUploadAsync(init, CancellationToken.None), ct).ConfigureAwait(false)).UploadId;
        try
        {
            ct.ThrowIfCancellationRequested();
            int parts = checked((int)((size + Remote.PartSize - 1) / Remote.PartSize));
            var etags = new PartETag[parts];
            await Parallel.ForAsync(0, parts, new ParallelOptions { MaxDegreeOfParallelism = Remote.PartConcurrency, CancellationToken = ct }, async (p, c) =>
            {
                long start = p * Remote.PartSize, length = Math.Min(Remote.PartSize, size - start);
                var progress = new ByteProgress(onBytes);
                string crc = await PartCrc32Async(path, start, length, c).ConfigureAwait(false);
                var r = await RunAsync(key, async () =>
                {
                    progress.Restart();
                    var req = new UploadPartRequest
                    {
                        BucketName = Remote.Bucket, Key = key, UploadId = uploadId, PartNumber = p + 1, FilePath = path, FilePosition = start, PartSize = length,
                        UseChunkEncoding = false, DisablePayloadSigning = IsHttps,
                        ChecksumAlgorithm = ChecksumAlgorithm.CRC32, ChecksumCRC32 = crc,
                    };
                    req.StreamTransferProgress += (_, e) => progress.Report(e.TransferredBytes);
                    var response = await _s3.UploadPartAsync(req, c).ConfigureAwait(false);
                    progress.Report(length);
                    return response;
                }, c).ConfigureAwait(false);
                etags[p] = new PartETag { PartNumber = p + 1, ETag = r.ETag, ChecksumCRC32 = r.ChecksumCRC32 };
            }).ConfigureAwait(false);
            await RunAsync(key, () => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Remote.Bucket, Key = key, UploadId = uploadId, PartETags = etags.ToList(),
            }, ct), ct).ConfigureAwait(false);
        }
        catch
        {
            try { await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Remote.Bucket, Key = key, UploadId = uploadId }, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception) { } // the upload failed already; an abort that fails too leaves parts the bucket's lifecycle rule removes
            throw;
        }
    }

    /// <summary>The base64 CRC32 (big-endian, as S3 sends it) of bytes [start, start+length) of a file.</summary>
    internal static async Task<string> PartCrc32Async(string path, long start, long length, CancellationToken ct)
    {
        var crc = new System.IO.Hashing.Crc32();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
            long done = 0;
            while (done < length)
            {
                int n = await RandomAccess.ReadAsync(file.SafeFileHandle, buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - done)), start + done, ct).ConfigureAwait(false);
                if (n == 0) throw new EndOfStreamException($"{path} ended at byte {start + done}, inside part bytes {start}-{start + length - 1}.");
                crc.Append(buffer.AsSpan(0, n));
                done += n;
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        var value = crc.GetCurrentHash(); // little-endian
        Array.Reverse(value);
        return Convert.ToBase64String(value);
    }

    /// <summary>Over https the transport protects the body, so it is not hashed a second time for the signature.</summary>
    private bool IsHttps => Remote.Connection.EndpointUrl is not { } e || e.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Turns one request's running byte count into increments; a retry restarts the count and takes its bytes back.</summary>
    private sealed class ByteProgress(Action<long>? onBytes)
    {
        private long _sent;
        public void Report(long total) { long d = total - Interlocked.Exchange(ref _sent, total); if (d != 0) onBytes?.Invoke(d); }
        public void Restart() => Report(0);
    }

    /// <summary>
    /// The user metadata (x-amz-meta-mess-sha256) every blob is uploaded with: the SHA-256 of the file's bytes, hashed under
    /// the folder's writer lock. A blob without it (written by an earlier release) is verified by reading it once.
    /// </summary>
    public const string ContentSha256Metadata = "mess-sha256";

    /// <summary>
    /// True when the blob at <paramref name="key"/> holds <paramref name="entry"/>'s bytes. A blob carrying
    /// <see cref="ContentSha256Metadata"/> is judged by it and its size (one HEAD); one without it is read and hashed, and,
    /// when sound and <paramref name="mark"/> is set, given the metadata by a server-side copy onto itself, so the next
    /// publish needs only the HEAD. A blob whose bytes differ from its key is what a publish of a folder that changed under
    /// it left behind (before the writer lock was held while publishing): the caller uploads it again.
    /// </summary>
    public async Task<bool> HoldsContentAsync(string key, ArtifactFileEntry entry, bool mark, ArtifactEncryption sse, CancellationToken ct)
    {
        var head = await RunAsync(key, async () =>
        {
            try { return await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Remote.Bucket, Key = key }, ct).ConfigureAwait(false); }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket") { return null; }
        }, ct).ConfigureAwait(false);
        if (head is null || head.ContentLength != entry.Size) return false;
        string? recorded = head.Metadata[ContentSha256Metadata];
        if (recorded is not null) return string.Equals(recorded, entry.Sha256, StringComparison.Ordinal);
        string actual = await RunAsync(key, async () =>
        {
            using var r = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = Remote.Bucket, Key = key }, ct).ConfigureAwait(false);
            return (await CopyHashingAsync(r.ResponseStream, null, null, ct).ConfigureAwait(false)).Sha256;
        }, ct).ConfigureAwait(false);
        if (actual != entry.Sha256) return false;
        if (mark && entry.Size < 5L * 1024 * 1024 * 1024)
        {
            await RunAsync(key, async () =>
            {
                var copy = new CopyObjectRequest
                {
                    SourceBucket = Remote.Bucket, SourceKey = key, DestinationBucket = Remote.Bucket, DestinationKey = key,
                    MetadataDirective = S3MetadataDirective.REPLACE, ContentType = head.Headers.ContentType ?? "application/octet-stream",
                };
                copy.Metadata.Add(ContentSha256Metadata, entry.Sha256);
                if (sse.Method is not null)
                {
                    copy.ServerSideEncryptionMethod = ServerSideEncryptionMethod.FindValue(sse.Method);
                    if (sse.KmsKeyId is not null) copy.ServerSideEncryptionKeyManagementServiceKeyId = sse.KmsKeyId;
                }
                await _s3.CopyObjectAsync(copy, ct).ConfigureAwait(false);
                return 0;
            }, ct).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>
    /// Downloads <paramref name="key"/> into <paramref name="target"/> through a temporary file, computing SHA-256 on the way;
    /// the file is committed only when size and hash match <paramref name="entry"/>, else ArtifactChecksumMismatch names the file.
    /// Large files are fetched in parallel ranges and hashed after.
    /// </summary>
    public Task DownloadFileAsync(string key, ArtifactFileEntry entry, string target, Action<long>? onBytes, CancellationToken ct)
    {
        long got = 0;
        void Add(long n) { Interlocked.Add(ref got, n); onBytes?.Invoke(n); }
        return RunAsync(key, async () =>
        {
            onBytes?.Invoke(-Interlocked.Exchange(ref got, 0)); // a retry starts again
            using var writer = AtomicFileWriter.Create(target);
            string actual;
            long length;
            if (entry.Size >= Remote.RangeSize)
            {
                await DownloadRangesAsync(key, entry.Size, writer, Add, ct).ConfigureAwait(false);
                writer.Stream.Position = 0;
                actual = Convert.ToHexString(await SHA256.HashDataAsync(writer.Stream, ct).ConfigureAwait(false)).ToLowerInvariant();
                length = writer.Stream.Length;
            }
            else
            {
                using var r = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = Remote.Bucket, Key = key }, ct).ConfigureAwait(false);
                (actual, length) = await CopyHashingAsync(r.ResponseStream, writer.Stream, Add, ct).ConfigureAwait(false);
            }
            if (length != entry.Size || actual != entry.Sha256)
                throw new MessException(MessErrorIds.ArtifactChecksumMismatch, MessErrorKind.InvalidData,
                    $"The file '{entry.Path}' of the published version does not match its manifest: expected {entry.Size:N0} bytes with SHA-256 {entry.Sha256}, got {length:N0} bytes with SHA-256 {actual} (object {Remote.Uri(key)}). Nothing was swapped in. To repair the version, publish a folder that holds it again (Publish-MessArtifact uploads every blob whose bytes differ from its key; docs/publishing.md).", entry.Path);
            writer.Commit();
            return 0;
        }, ct);
    }

    private async Task DownloadRangesAsync(string key, long size, AtomicFileWriter writer, Action<long> onBytes, CancellationToken ct)
    {
        var fs = (FileStream)writer.Stream;
        fs.SetLength(size);
        var handle = fs.SafeFileHandle;
        long parts = (size + Remote.RangeSize - 1) / Remote.RangeSize;
        await Parallel.ForAsync(0L, parts, new ParallelOptions { MaxDegreeOfParallelism = Remote.PartConcurrency, CancellationToken = ct }, async (p, c) =>
        {
            long start = p * Remote.RangeSize, end = Math.Min(size, start + Remote.RangeSize) - 1;
            using var r = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = Remote.Bucket, Key = key, ByteRange = new ByteRange(start, end) }, c).ConfigureAwait(false);
            byte[] buf = ArrayPool<byte>.Shared.Rent(1 << 17);
            try
            {
                long pos = start;
                int n;
                while ((n = await r.ResponseStream.ReadAsync(buf, c).ConfigureAwait(false)) > 0)
                {
                    if (pos + n > end + 1) throw new IOException($"the range {start}-{end} returned more bytes than asked for");
                    await RandomAccess.WriteAsync(handle, buf.AsMemory(0, n), pos, c).ConfigureAwait(false);
                    pos += n;
                    onBytes(n);
                }
                if (pos != end + 1) throw new IOException($"the range {start}-{end} ended after {pos - start:N0} bytes");
            }
            finally { ArrayPool<byte>.Shared.Return(buf); }
        }).ConfigureAwait(false);
    }

    /// <summary>Copies a stream while hashing it; returns the lower-case hex SHA-256 and the length.</summary>
    internal static async Task<(string Sha256, long Length)> CopyHashingAsync(Stream source, Stream? destination, Action<long>? onBytes, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buf = ArrayPool<byte>.Shared.Rent(1 << 17);
        long total = 0;
        try
        {
            int n;
            while ((n = await source.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buf, 0, n);
                if (destination is not null) await destination.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
                total += n;
                onBytes?.Invoke(n);
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
        return (Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), total);
    }

    /// <summary>SHA-256 of a local file (lower-case hex), reporting bytes as they are read.</summary>
    public static async Task<string> HashFileAsync(string path, Action<long>? onBytes, CancellationToken ct)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return (await CopyHashingAsync(fs, null, onBytes, ct).ConfigureAwait(false)).Sha256;
    }

    private static void Encrypt(PutObjectRequest req, ArtifactEncryption sse)
    {
        if (sse.Method is null) return;
        req.ServerSideEncryptionMethod = ServerSideEncryptionMethod.FindValue(sse.Method);
        if (sse.KmsKeyId is not null) req.ServerSideEncryptionKeyManagementServiceKeyId = sse.KmsKeyId;
    }

    /// <summary>Runs one S3 operation with retries; maps 403, a missing bucket and exhausted retries to errors naming bucket and prefix.</summary>
    public async Task<T> RunAsync<T>(string key, Func<Task<T>> action, CancellationToken ct)
    {
        try
        {
            return await Remote.Retry.RunAsync(_ => action(), S3Errors.IsTransient, ct).ConfigureAwait(false);
        }
        catch (AmazonServiceException ex) when (ex.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            throw new MessException(MessErrorIds.ArtifactAccessDenied, MessErrorKind.PermissionDenied,
                $"Access to {Remote.Uri(key)} was denied ({(int)ex.StatusCode} {ex.ErrorCode}). Bucket '{Remote.Bucket}', prefix '{Remote.Prefix}': check the credentials' s3:ListBucket, s3:GetObject and s3:PutObject permissions and the bucket policy.", Remote.Display, ex);
        }
        catch (AmazonServiceException ex) when (ex.ErrorCode == "NoSuchBucket")
        {
            throw new MessException(MessErrorIds.ArtifactBucketNotFound, MessErrorKind.ObjectNotFound,
                $"The bucket '{Remote.Bucket}' does not exist (prefix '{Remote.Prefix}'{(Remote.Connection.EndpointUrl is null ? "" : ", endpoint " + SecretRedactor.Redact(Remote.Connection.EndpointUrl))}).", Remote.Display, ex);
        }
        catch (AmazonServiceException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new MessException(MessErrorIds.ArtifactObjectNotFound, MessErrorKind.ObjectNotFound,
                $"{Remote.Uri(key)} does not exist (404 {ex.ErrorCode}). Bucket '{Remote.Bucket}', prefix '{Remote.Prefix}'.", key, ex);
        }
        catch (Exception ex) when (ex is not MessException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            if (S3Errors.IsCredentialProblem(ex)) throw AwsSetupException.NoCredentials(ex);
            bool transient = S3Errors.IsTransient(ex);
            string detail = ex is AmazonServiceException se && se.StatusCode != 0 ? $"{(int)se.StatusCode} {se.ErrorCode}: {SecretRedactor.Redact(se.Message)}" : S3Errors.Describe(ex);
            throw new MessException(transient ? "ArtifactTransferFailed" : "ArtifactTransferError", transient ? MessErrorKind.ConnectionError : MessErrorKind.WriteError,
                $"{Remote.Uri(key)} failed{(transient ? $" after {Remote.Retry.MaxRetries + 1} attempts" : "")}: {detail}. Bucket '{Remote.Bucket}', prefix '{Remote.Prefix}'.", key, ex);
        }
    }

    public void Dispose()
    {
        if (_ownsClient) _s3.Dispose();
    }
}
