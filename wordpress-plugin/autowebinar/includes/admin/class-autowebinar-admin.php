<?php
/**
 * wp-admin pages: the sidecar's dashboard in an iframe, and a read-only status page.
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * The "AutoWebinar" menu. Nothing here acts: both pages only read, so there is no form and
 * no nonce; access is by capability (WordPress answers 403 before our callback runs).
 */
final class Autowebinar_Admin {

	const SLUG              = 'autowebinar';
	const STATUS_SLUG       = 'autowebinar-status';
	const STATUS_CAPABILITY = 'manage_options';

	/** Seconds to wait for GET /healthz: the status page must stay fast when the sidecar is down. */
	const HEALTH_TIMEOUT = 3;

	/**
	 * Hooks the menu.
	 */
	public static function register(): void {
		add_action( 'admin_menu', array( __CLASS__, 'add_menu' ) );
	}

	/**
	 * Adds the top-level page and its Status submenu.
	 */
	public static function add_menu(): void {
		add_menu_page(
			__( 'AutoWebinar', 'autowebinar' ),
			__( 'AutoWebinar', 'autowebinar' ),
			Autowebinar_Config::admin_capability(),
			self::SLUG,
			array( __CLASS__, 'render_dashboard' ),
			'dashicons-video-alt3',
			71
		);
		add_submenu_page(
			self::SLUG,
			__( 'AutoWebinar', 'autowebinar' ),
			__( 'Dashboard', 'autowebinar' ),
			Autowebinar_Config::admin_capability(),
			self::SLUG,
			array( __CLASS__, 'render_dashboard' )
		);
		add_submenu_page(
			self::SLUG,
			__( 'AutoWebinar status', 'autowebinar' ),
			__( 'Status', 'autowebinar' ),
			self::STATUS_CAPABILITY,
			self::STATUS_SLUG,
			array( __CLASS__, 'render_status' )
		);
	}

	/**
	 * The sidecar's admin dashboard, embedded with an admin token for the current user.
	 */
	public static function render_dashboard(): void {
		if ( ! current_user_can( Autowebinar_Config::admin_capability() ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to access this page.', 'autowebinar' ), 403 );
		}
		echo '<div class="wrap autowebinar-admin">';
		echo '<h1>' . esc_html__( 'AutoWebinar', 'autowebinar' ) . '</h1>';
		if ( ! Autowebinar_Config::is_configured() ) {
			self::print_problems( Autowebinar_Config::problems() );
			echo '</div>';
			return;
		}
		$token = Autowebinar_Token::for_user( get_current_user_id(), 'admin' );
		$src   = Autowebinar_Config::sidecar_url() . '/admin#token=' . rawurlencode( $token );
		printf(
			'<p class="description">%s</p>',
			esc_html(
				sprintf(
					/* translators: %d: minutes. */
					_n(
						'Funnel, audience retention and per-user progress of the webinar recording, served by the AutoWebinar service. Access from this page lasts %d minute and is not extended; reload the page to continue after that.',
						'Funnel, audience retention and per-user progress of the webinar recording, served by the AutoWebinar service. Access from this page lasts %d minutes and is not extended; reload the page to continue after that.',
						intdiv( Autowebinar_Config::admin_token_ttl(), 60 ),
						'autowebinar'
					),
					intdiv( Autowebinar_Config::admin_token_ttl(), 60 )
				)
			)
		);
		printf(
			'<iframe class="autowebinar-admin-frame" src="%1$s" title="%2$s" style="width:100%%;min-height:75vh;border:1px solid #c3c4c7;background:#fff;"></iframe>',
			esc_url( $src ),
			esc_attr__( 'AutoWebinar dashboard', 'autowebinar' )
		);
		echo '</div>';
	}

	/**
	 * Read-only diagnosis: are the constants set, does the sidecar answer GET /healthz?
	 */
	public static function render_status(): void {
		if ( ! current_user_can( self::STATUS_CAPABILITY ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to access this page.', 'autowebinar' ), 403 );
		}
		$url    = Autowebinar_Config::sidecar_url();
		$secret = Autowebinar_Config::embed_secret();
		$rows   = array(
			array(
				'AUTOWEBINAR_SIDECAR_URL',
				'' === $url ? __( 'Not set', 'autowebinar' ) : $url,
				'' !== $url && Autowebinar_Config::is_http_url( $url ),
			),
			array(
				'AUTOWEBINAR_EMBED_SECRET',
				'' === $secret
					? __( 'Not set', 'autowebinar' )
					/* translators: %d: a number of characters. The secret itself is never shown. */
					: sprintf( _n( 'Set (%d character)', 'Set (%d characters)', strlen( $secret ), 'autowebinar' ), strlen( $secret ) ),
				strlen( $secret ) >= Autowebinar_Config::MIN_SECRET_LENGTH,
			),
			array(
				'AUTOWEBINAR_TOKEN_TTL',
				/* translators: %d: seconds. */
				sprintf( __( '%d seconds', 'autowebinar' ), Autowebinar_Config::token_ttl() )
					. ( defined( 'AUTOWEBINAR_TOKEN_TTL' ) ? '' : ' ' . __( '(default)', 'autowebinar' ) ),
				true,
			),
		);
		$health = '' !== $url && Autowebinar_Config::is_http_url( $url ) ? self::check_sidecar( $url ) : null;

		echo '<div class="wrap autowebinar-status">';
		echo '<h1>' . esc_html__( 'AutoWebinar status', 'autowebinar' ) . '</h1>';
		echo '<table class="widefat striped" style="max-width:60em"><tbody>';
		foreach ( $rows as $row ) {
			printf(
				'<tr><th scope="row"><code>%1$s</code></th><td>%2$s</td><td>%3$s</td></tr>',
				esc_html( $row[0] ),
				esc_html( $row[1] ),
				$row[2] ? esc_html__( 'OK', 'autowebinar' ) : '<strong>' . esc_html__( 'Problem', 'autowebinar' ) . '</strong>'
			);
		}
		printf(
			'<tr class="autowebinar-health"><th scope="row">%1$s</th><td>%2$s</td><td>%3$s</td></tr>',
			esc_html__( 'Service health (GET /healthz)', 'autowebinar' ),
			esc_html( null === $health ? __( 'Not checked: the URL is not set.', 'autowebinar' ) : $health['message'] ),
			null !== $health && $health['ok'] ? esc_html__( 'OK', 'autowebinar' ) : '<strong>' . esc_html__( 'Problem', 'autowebinar' ) . '</strong>'
		);
		echo '</tbody></table>';
		self::print_problems( Autowebinar_Config::problems() );
		printf(
			'<p class="description">%s</p>',
			esc_html__( 'The plugin is configured only by constants in wp-config.php and stores nothing in the database. Viewing progress is written to user meta (autowebinar_* keys) by the AutoWebinar service.', 'autowebinar' )
		);
		echo '</div>';
	}

	/**
	 * Calls GET {url}/healthz with a short timeout.
	 *
	 * @param string $url The sidecar's base URL.
	 * @return array{ok: bool, message: string}
	 */
	public static function check_sidecar( string $url ): array {
		$response = wp_remote_get(
			$url . '/healthz',
			array(
				'timeout'     => self::HEALTH_TIMEOUT,
				'redirection' => 0,
				'headers'     => array( 'Accept' => 'application/json' ),
			)
		);
		if ( is_wp_error( $response ) ) {
			return array(
				'ok'      => false,
				/* translators: %s: an error message from the HTTP client. */
				'message' => sprintf( __( 'Not reachable: %s', 'autowebinar' ), $response->get_error_message() ),
			);
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		$body = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		if ( 200 === $code && is_array( $body ) && isset( $body['status'] ) && 'ok' === $body['status'] ) {
			return array(
				'ok'      => true,
				'message' => __( 'Answering (200 {"status":"ok"})', 'autowebinar' ),
			);
		}
		return array(
			'ok'      => false,
			/* translators: %d: an HTTP status code. */
			'message' => sprintf( __( 'Unhealthy: HTTP %d', 'autowebinar' ), $code ),
		);
	}

	/**
	 * An error notice listing configuration problems (nothing when there are none).
	 *
	 * @param string[] $problems Translated sentences.
	 */
	private static function print_problems( array $problems ): void {
		if ( array() === $problems ) {
			return;
		}
		echo '<div class="notice notice-error inline"><p><strong>' . esc_html__( 'AutoWebinar is not configured.', 'autowebinar' ) . '</strong></p><ul>';
		foreach ( $problems as $problem ) {
			echo '<li>' . esc_html( $problem ) . '</li>';
		}
		echo '</ul></div>';
	}
}
