<?php
/**
 * Embed tokens: compact HS256 JWTs the sidecar verifies with a maintained JWT library.
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * Signs tokens with claims sub (user id as a string), iat, exp, aud = "autowebinar", role, and
 * auth_time: the moment WordPress checked the user. The service keeps auth_time through the
 * refreshes it issues while someone watches and stops refreshing MAX_VIEWING_SEC after it, so
 * a user deleted or demoted here loses access within one token lifetime.
 */
final class Autowebinar_Token {

	const AUDIENCE = 'autowebinar';
	const ROLES    = array( 'viewer', 'admin' );

	/**
	 * Mints a token with the configured secret and lifetime.
	 *
	 * @param int    $user_id WordPress user id.
	 * @param string $role    'viewer' or 'admin'.
	 */
	public static function for_user( int $user_id, string $role ): string {
		$ttl = 'admin' === $role ? Autowebinar_Config::admin_token_ttl() : Autowebinar_Config::token_ttl();
		return self::mint( $user_id, $role, Autowebinar_Config::embed_secret(), $ttl );
	}

	/**
	 * Mints a token. Pure apart from the clock, which callers may pass in.
	 *
	 * @param int      $user_id WordPress user id (> 0).
	 * @param string   $role    'viewer' or 'admin'.
	 * @param string   $secret  HS256 key, at least Autowebinar_Config::MIN_SECRET_LENGTH bytes.
	 * @param int      $ttl     Lifetime in seconds.
	 * @param int|null $now     Issue time (Unix seconds); the current time when null.
	 * @throws InvalidArgumentException On a bad user id, role or secret.
	 */
	public static function mint( int $user_id, string $role, string $secret, int $ttl, ?int $now = null ): string {
		if ( $user_id <= 0 ) {
			throw new InvalidArgumentException( 'user id must be positive' );
		}
		if ( ! in_array( $role, self::ROLES, true ) ) {
			throw new InvalidArgumentException( 'role must be viewer or admin' );
		}
		if ( strlen( $secret ) < Autowebinar_Config::MIN_SECRET_LENGTH ) {
			throw new InvalidArgumentException( 'secret is too short' );
		}
		$iat    = null === $now ? time() : $now;
		$header = array(
			'alg' => 'HS256',
			'typ' => 'JWT',
		);
		$claims = array(
			'sub'       => (string) $user_id,
			'iat'       => $iat,
			'exp'       => $iat + $ttl,
			'aud'       => self::AUDIENCE,
			'role'      => $role,
			'auth_time' => $iat,
		);
		$signing_input = self::base64url( (string) wp_json_encode( $header ) )
			. '.' . self::base64url( (string) wp_json_encode( $claims ) );
		return $signing_input . '.' . self::base64url( hash_hmac( 'sha256', $signing_input, $secret, true ) );
	}

	/**
	 * Base64url without padding (RFC 7515, section 2).
	 *
	 * @param string $bytes Raw bytes.
	 */
	public static function base64url( string $bytes ): string {
		return rtrim( strtr( base64_encode( $bytes ), '+/', '-_' ), '=' ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- JWT encoding.
	}
}
