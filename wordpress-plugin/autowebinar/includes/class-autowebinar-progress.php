<?php
/**
 * Read-only access to the sidecar's seven autowebinar_* user meta keys, and their display.
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads a user's AutoWebinar state through get_user_meta() and formats it for wp-admin.
 *
 * The sidecar writes wp_usermeta directly (not through update_user_meta), so WordPress's
 * object cache never hears about those writes. With a persistent object cache (Redis,
 * Memcached drop-ins) the cached copy of a user's meta would stay stale indefinitely, so every
 * read here drops the user's `user_meta` cache entry first (wp-includes/meta.php:641-644 loads
 * all of a user's meta in one query on a miss).
 */
final class Autowebinar_Progress {

	const KEYS = array(
		'session_id'        => 'autowebinar_session_id',
		'started_at'        => 'autowebinar_started_at',
		'last_position_sec' => 'autowebinar_last_position_sec',
		'progress_percent'  => 'autowebinar_progress_percent',
		'completed'         => 'autowebinar_completed',
		'cta_clicked_at'    => 'autowebinar_cta_clicked_at',
		'last_seen_at'      => 'autowebinar_last_seen_at',
	);

	/** What the screens show for "no value". */
	const NONE = '—';

	/**
	 * Drops the cached meta of these users and reloads it with one query.
	 *
	 * @param int[] $user_ids WordPress user ids.
	 */
	public static function refresh( array $user_ids ): void {
		$user_ids = array_values( array_unique( array_filter( array_map( 'intval', $user_ids ) ) ) );
		if ( array() === $user_ids ) {
			return;
		}
		wp_cache_delete_multiple( $user_ids, 'user_meta' );
		update_meta_cache( 'user', $user_ids );
	}

	/**
	 * The user's state, or null when they have no session yet.
	 *
	 * @param int  $user_id WordPress user id.
	 * @param bool $fresh   Whether to drop the cached meta first (false when refresh() just ran).
	 * @return array{session_id: string, started_at: ?int, last_position_sec: int, progress_percent: int, completed: bool, cta_clicked_at: ?int, last_seen_at: ?int}|null
	 */
	public static function read( int $user_id, bool $fresh = true ): ?array {
		if ( $fresh ) {
			wp_cache_delete( $user_id, 'user_meta' );
		}
		$raw = array();
		foreach ( self::KEYS as $name => $key ) {
			$raw[ $name ] = (string) get_user_meta( $user_id, $key, true );
		}
		if ( '' === $raw['session_id'] ) {
			return null;
		}
		return array(
			'session_id'        => $raw['session_id'],
			'started_at'        => self::timestamp( $raw['started_at'] ),
			'last_position_sec' => max( 0, (int) $raw['last_position_sec'] ),
			'progress_percent'  => max( 0, min( 100, (int) $raw['progress_percent'] ) ),
			'completed'         => '1' === $raw['completed'],
			'cta_clicked_at'    => self::timestamp( $raw['cta_clicked_at'] ),
			'last_seen_at'      => self::timestamp( $raw['last_seen_at'] ),
		);
	}

	/**
	 * Parses a stored 'YYYY-MM-DD HH:MM:SS' UTC datetime; null when absent or malformed.
	 *
	 * @param string $value The meta value.
	 */
	public static function timestamp( string $value ): ?int {
		if ( 1 !== preg_match( '/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/', $value ) ) {
			return null;
		}
		$date = DateTimeImmutable::createFromFormat( '!Y-m-d H:i:s', $value, new DateTimeZone( 'UTC' ) );
		return false === $date ? null : $date->getTimestamp();
	}

	/**
	 * A UTC timestamp in the site's timezone and date/time formats, or "—".
	 *
	 * @param int|null $timestamp Unix seconds.
	 */
	public static function format_datetime( ?int $timestamp ): string {
		if ( null === $timestamp ) {
			return self::NONE;
		}
		$format = get_option( 'date_format' ) . ' ' . get_option( 'time_format' );
		return (string) wp_date( $format, $timestamp );
	}

	/**
	 * A position in the recording as m:ss or h:mm:ss.
	 *
	 * @param int $seconds Seconds from the start.
	 */
	public static function format_position( int $seconds ): string {
		$hours   = intdiv( $seconds, 3600 );
		$minutes = intdiv( $seconds % 3600, 60 );
		$rest    = $seconds % 60;
		return $hours > 0
			? sprintf( '%d:%02d:%02d', $hours, $minutes, $rest )
			: sprintf( '%d:%02d', $minutes, $rest );
	}

	/**
	 * "Yes" or "No", translated.
	 *
	 * @param bool $value The flag.
	 */
	public static function format_bool( bool $value ): string {
		return $value ? __( 'Yes', 'autowebinar' ) : __( 'No', 'autowebinar' );
	}
}
