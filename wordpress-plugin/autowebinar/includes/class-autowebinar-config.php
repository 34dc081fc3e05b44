<?php
/**
 * Configuration: constants in wp-config.php only (the plugin keeps no options).
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads and validates AUTOWEBINAR_SIDECAR_URL, AUTOWEBINAR_EMBED_SECRET, AUTOWEBINAR_TOKEN_TTL,
 * AUTOWEBINAR_ADMIN_TOKEN_TTL, and names the capability that opens the admin views.
 */
final class Autowebinar_Config {

	/** The sidecar refuses shorter HS256 keys, so the plugin does too. */
	const MIN_SECRET_LENGTH = 32;

	/** Default token lifetime in seconds. */
	const DEFAULT_TTL = 600;

	/** Bounds for AUTOWEBINAR_TOKEN_TTL: long enough to load the iframe, short enough to leak little. */
	const MIN_TTL = 60;
	const MAX_TTL = 86400;

	/**
	 * Default lifetime of an admin token. Admin tokens are never refreshed (the dashboard asks
	 * for a reload), and the service refuses any longer than its ADMIN_TOKEN_TTL_SEC (1 h).
	 */
	const DEFAULT_ADMIN_TTL = 3600;

	/**
	 * Base URL of the sidecar without a trailing slash, or '' when the constant is missing.
	 */
	public static function sidecar_url(): string {
		if ( ! defined( 'AUTOWEBINAR_SIDECAR_URL' ) ) {
			return '';
		}
		return untrailingslashit( trim( (string) AUTOWEBINAR_SIDECAR_URL ) );
	}

	/**
	 * The shared HS256 key, or '' when the constant is missing.
	 */
	public static function embed_secret(): string {
		return defined( 'AUTOWEBINAR_EMBED_SECRET' ) ? (string) AUTOWEBINAR_EMBED_SECRET : '';
	}

	/**
	 * Token lifetime in seconds, clamped to [MIN_TTL, MAX_TTL].
	 */
	public static function token_ttl(): int {
		$ttl = defined( 'AUTOWEBINAR_TOKEN_TTL' ) ? (int) AUTOWEBINAR_TOKEN_TTL : self::DEFAULT_TTL;
		return max( self::MIN_TTL, min( self::MAX_TTL, $ttl ) );
	}

	/**
	 * Admin token lifetime in seconds, clamped to [MIN_TTL, DEFAULT_ADMIN_TTL].
	 */
	public static function admin_token_ttl(): int {
		$ttl = defined( 'AUTOWEBINAR_ADMIN_TOKEN_TTL' ) ? (int) AUTOWEBINAR_ADMIN_TOKEN_TTL : self::DEFAULT_ADMIN_TTL;
		return max( self::MIN_TTL, min( self::DEFAULT_ADMIN_TTL, $ttl ) );
	}

	/**
	 * The capability that opens the dashboard, the Users column and the profile box.
	 *
	 * `list_users` on a single site. On multisite `wp_usermeta` is one table for the whole
	 * network (WORDPRESS_FACTS.md §v) and the dashboard shows every user in it, so the default
	 * is `manage_network_users` (super admins): a sub-site administrator does not see the
	 * network's users. Filter `autowebinar_admin_capability` to choose another.
	 */
	public static function admin_capability(): string {
		$default = is_multisite() ? 'manage_network_users' : 'list_users';
		return (string) apply_filters( 'autowebinar_admin_capability', $default );
	}

	/**
	 * Whether the sidecar URL is an absolute http(s) URL.
	 *
	 * @param string $url The URL to check.
	 */
	public static function is_http_url( string $url ): bool {
		$parts = wp_parse_url( $url );
		return is_array( $parts )
			&& isset( $parts['scheme'], $parts['host'] )
			&& in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true );
	}

	/**
	 * Every configuration problem, as translated sentences (empty when all is well).
	 *
	 * @return string[]
	 */
	public static function problems(): array {
		$problems = array();
		$url      = self::sidecar_url();
		if ( '' === $url ) {
			/* translators: %s: the name of a PHP constant. */
			$problems[] = sprintf( __( '%s is not defined in wp-config.php.', 'autowebinar' ), 'AUTOWEBINAR_SIDECAR_URL' );
		} elseif ( ! self::is_http_url( $url ) ) {
			/* translators: %s: the name of a PHP constant. */
			$problems[] = sprintf( __( '%s must be an http:// or https:// URL.', 'autowebinar' ), 'AUTOWEBINAR_SIDECAR_URL' );
		}
		$secret = self::embed_secret();
		if ( '' === $secret ) {
			/* translators: %s: the name of a PHP constant. */
			$problems[] = sprintf( __( '%s is not defined in wp-config.php.', 'autowebinar' ), 'AUTOWEBINAR_EMBED_SECRET' );
		} elseif ( strlen( $secret ) < self::MIN_SECRET_LENGTH ) {
			$problems[] = sprintf(
				/* translators: 1: the name of a PHP constant, 2: a number of characters. */
				__( '%1$s must be at least %2$d characters long.', 'autowebinar' ),
				'AUTOWEBINAR_EMBED_SECRET',
				self::MIN_SECRET_LENGTH
			);
		}
		return $problems;
	}

	/**
	 * Whether tokens can be minted and the sidecar addressed.
	 */
	public static function is_configured(): bool {
		return array() === self::problems();
	}
}
