<?php
/**
 * The [autowebinar] shortcode.
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * Renders the player iframe for logged-in users and an honest log-in/sign-up prompt otherwise.
 */
final class Autowebinar_Shortcode {

	const TAG = 'autowebinar';

	/**
	 * Registers the shortcode.
	 */
	public static function register(): void {
		add_shortcode( self::TAG, array( __CLASS__, 'render' ) );
		add_action( 'template_redirect', array( __CLASS__, 'no_cache_for_players' ) );
	}

	/**
	 * A post whose body holds the shortcode: send the no-cache headers before any output.
	 */
	public static function no_cache_for_players(): void {
		if ( is_user_logged_in() && is_singular()
			&& has_shortcode( (string) get_post_field( 'post_content', get_queried_object_id() ), self::TAG ) ) {
			self::no_cache();
		}
	}

	/**
	 * HTML with the player carries a token for one user: no page cache, proxy or browser may
	 * keep it. Called wherever the player renders - a post body, a widget, a template's
	 * do_shortcode() - because only the first case is known before output starts.
	 * DONOTCACHEPAGE is the constant page-cache plugins (WP Super Cache, W3 Total Cache,
	 * WP Rocket, LiteSpeed Cache, ...) check when they store the finished page; the headers
	 * are sent if output has not started yet.
	 */
	public static function no_cache(): void {
		if ( ! defined( 'DONOTCACHEPAGE' ) ) {
			define( 'DONOTCACHEPAGE', true );
		}
		if ( ! headers_sent() ) {
			nocache_headers();
		}
	}

	/**
	 * Shortcode callback: returns HTML, never echoes.
	 *
	 * @param array|string $atts Shortcode attributes: height (pixels, optional), class, title.
	 */
	public static function render( $atts = array() ): string {
		$atts = shortcode_atts(
			array(
				'height' => '',
				'class'  => '',
				'title'  => __( 'Webinar recording', 'autowebinar' ),
			),
			is_array( $atts ) ? $atts : array(),
			self::TAG
		);
		$classes = self::classes( (string) $atts['class'] );

		if ( ! Autowebinar_Config::is_configured() ) {
			return self::unavailable( $classes );
		}
		if ( ! is_user_logged_in() ) {
			return self::visitor_prompt( $classes );
		}
		return self::player( get_current_user_id(), $classes, absint( $atts['height'] ), (string) $atts['title'] );
	}

	/**
	 * The responsive 16:9 iframe (or a fixed height) pointing at the sidecar's /embed.
	 *
	 * @param int    $user_id The viewer.
	 * @param string $classes Extra CSS classes, already sanitized.
	 * @param int    $height  Fixed height in pixels; 0 for a 16:9 box.
	 * @param string $title   The iframe's accessible title.
	 */
	private static function player( int $user_id, string $classes, int $height, string $title ): string {
		self::no_cache();
		$token = Autowebinar_Token::for_user( $user_id, 'viewer' );
		$src   = add_query_arg( 'token', rawurlencode( $token ), Autowebinar_Config::sidecar_url() . '/embed' );
		$box   = $height > 0
			? 'position:relative;width:100%;height:' . $height . 'px;'
			: 'position:relative;width:100%;height:0;padding-top:56.25%;';
		return sprintf(
			'<div class="%1$s" style="%2$s"><iframe src="%3$s" title="%4$s" allow="autoplay; fullscreen" allowfullscreen style="position:absolute;top:0;left:0;width:100%%;height:100%%;border:0;"></iframe></div>',
			esc_attr( trim( 'autowebinar-embed ' . $classes ) ),
			esc_attr( $box ),
			esc_url( $src ),
			esc_attr( $title )
		);
	}

	/**
	 * For visitors: a sentence, a link to log in (back to this page) and one to the site's /signup/.
	 *
	 * Shared by both shortcodes.
	 *
	 * @param string $classes Extra CSS classes, already sanitized.
	 * @param string $message Why to log in, already translated (escaped here).
	 */
	public static function visitor_prompt( string $classes, string $message = '' ): string {
		$here = get_the_ID() ? get_permalink() : home_url( '/' );
		if ( '' === $message ) {
			$message = __( 'This webinar is a recording of an earlier live session. It is available to registered users: please log in, or sign up if you do not have an account yet.', 'autowebinar' );
		}
		return sprintf(
			'<div class="%1$s"><p>%2$s</p><p><a class="autowebinar-login" href="%3$s">%4$s</a> &middot; <a class="autowebinar-signup" href="%5$s">%6$s</a></p></div>',
			esc_attr( trim( 'autowebinar-login-prompt ' . $classes ) ),
			esc_html( $message ),
			esc_url( wp_login_url( $here ? $here : home_url( '/' ) ) ),
			esc_html__( 'Log in', 'autowebinar' ),
			esc_url( home_url( '/signup/' ) ),
			esc_html__( 'Sign up', 'autowebinar' )
		);
	}

	/**
	 * Missing configuration: details for administrators, a neutral sentence for everyone else.
	 *
	 * Shared by both shortcodes.
	 *
	 * @param string $classes Extra CSS classes, already sanitized.
	 */
	public static function unavailable( string $classes ): string {
		if ( ! current_user_can( 'manage_options' ) ) {
			return sprintf(
				'<p class="%1$s">%2$s</p>',
				esc_attr( trim( 'autowebinar-unavailable ' . $classes ) ),
				esc_html__( 'The webinar is not available at the moment.', 'autowebinar' )
			);
		}
		$items = '';
		foreach ( Autowebinar_Config::problems() as $problem ) {
			$items .= '<li>' . esc_html( $problem ) . '</li>';
		}
		return sprintf(
			'<div class="%1$s" role="alert"><p><strong>%2$s</strong> %3$s</p><ul>%4$s</ul></div>',
			esc_attr( trim( 'autowebinar-notice ' . $classes ) ),
			esc_html__( 'AutoWebinar is not configured.', 'autowebinar' ),
			esc_html__( 'Only administrators see this notice; everyone else sees a short neutral message instead.', 'autowebinar' ),
			$items
		);
	}

	/**
	 * Space-separated class names, each through sanitize_html_class(). Shared by both shortcodes.
	 *
	 * @param string $value The class attribute as given.
	 */
	public static function classes( string $value ): string {
		$names = array_filter( array_map( 'sanitize_html_class', preg_split( '/\s+/', $value, -1, PREG_SPLIT_NO_EMPTY ) ) );
		return implode( ' ', $names );
	}
}
