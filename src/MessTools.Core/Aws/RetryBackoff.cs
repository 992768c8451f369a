namespace MessTools.Core.Aws;

/// <summary>
/// Exponential backoff with full jitter: attempt n (1-based) waits a random time in [0, min(MaxDelay, BaseDelay·2^(n-1))]
/// before the next try. Only errors the caller classifies as transient are retried.
/// </summary>
public sealed class RetryBackoff
{
    /// <summary>Retries after the first attempt (0: try once).</summary>
    public int MaxRetries { get; init; } = 4;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The wait before retry number <paramref name="retry"/> (1-based).</summary>
    public TimeSpan Delay(int retry)
    {
        double cap = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 30)));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap);
    }

    /// <summary>
    /// Runs <paramref name="action"/> (given the 1-based attempt number) until it succeeds, fails with an error
    /// <paramref name="isTransient"/> rejects, or the retries are used up (then the last error is thrown).
    /// Cancellation is never retried.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<int, Task<T>> action, Func<Exception, bool> isTransient, CancellationToken cancellationToken,
        Action<int, Exception, TimeSpan>? onRetry = null)
    {
        for (int attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await action(attempt).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && attempt <= MaxRetries && isTransient(ex))
            {
                var wait = Delay(attempt);
                onRetry?.Invoke(attempt, ex, wait);
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
