<?php
/**
 * The [autowebinar_live] shortcode: the live webinars' schedule or room from the sidecar.
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * Renders the sidecar's /live (the schedule, one-click registration) or /live/room (the
 * broadcast) in an iframe for logged-in users, exactly as [autowebinar] renders the player:
 * a short viewer token in the URL, a page no cache may keep, and an honest prompt to log in
 * or sign up for visitors. The live module is separate from the recording: this shortcode
 * shares only the token and the configuration with it.
 */
final class Autowebinar_Live_Shortcode {

	const TAG = 'autowebinar_live';

	/** The sidecar paths the `view` attribute may choose. */
	const VIEWS = array(
		'list' => '/live',
		'room' => '/live/room',
	);

	/** Default height of the schedule in pixels (it is a list, not a 16:9 video). */
	const LIST_HEIGHT = 760;

	/**
	 * Registers the shortcode.
	 */
	public static function register(): void {
		add_shortcode( self::TAG, array( __CLASS__, 'render' ) );
		add_action( 'template_redirect', array( __CLASS__, 'no_cache_for_pages' ) );
	}

	/**
	 * A post whose body holds the shortcode: send the no-cache headers before any output.
	 */
	public static function no_cache_for_pages(): void {
		if ( is_user_logged_in() && is_singular()
			&& has_shortcode( (string) get_post_field( 'post_content', get_queried_object_id() ), self::TAG ) ) {
			Autowebinar_Shortcode::no_cache();
		}
	}

	/**
	 * Shortcode callback: returns HTML, never echoes.
	 *
	 * @param array|string $atts Shortcode attributes: view (list|room), height (pixels), class, title.
	 */
	public static function render( $atts = array() ): string {
		$atts    = shortcode_atts(
			array(
				'view'   => 'list',
				'height' => '',
				'class'  => '',
				'title'  => __( 'Webinar schedule', 'autowebinar' ),
			),
			is_array( $atts ) ? $atts : array(),
			self::TAG
		);
		$view    = array_key_exists( (string) $atts['view'], self::VIEWS ) ? (string) $atts['view'] : 'list';
		$classes = Autowebinar_Shortcode::classes( (string) $atts['class'] );

		if ( ! Autowebinar_Config::is_configured() ) {
			return Autowebinar_Shortcode::unavailable( $classes );
		}
		if ( ! is_user_logged_in() ) {
			return Autowebinar_Shortcode::visitor_prompt(
				trim( 'autowebinar-live-prompt ' . $classes ),
				__( 'Our webinars run on a schedule. Registered users choose a time with one click: please log in, or sign up if you do not have an account yet.', 'autowebinar' )
			);
		}
		return self::frame( get_current_user_id(), $view, $classes, absint( $atts['height'] ), (string) $atts['title'] );
	}

	/**
	 * The iframe: a fixed height for the schedule, a 16:9 stage plus room for its text otherwise.
	 *
	 * @param int    $user_id The viewer.
	 * @param string $view    'list' or 'room'.
	 * @param string $classes Extra CSS classes, already sanitized.
	 * @param int    $height  Fixed height in pixels; 0 for the view's default.
	 * @param string $title   The iframe's accessible title.
	 */
	private static function frame( int $user_id, string $view, string $classes, int $height, string $title ): string {
		Autowebinar_Shortcode::no_cache(); // the HTML holds a token for one user, wherever it renders.
		$token = Autowebinar_Token::for_user( $user_id, 'viewer' );
		$src   = add_query_arg( 'token', rawurlencode( $token ), Autowebinar_Config::sidecar_url() . self::VIEWS[ $view ] );
		if ( $height > 0 ) {
			$box = 'position:relative;width:100%;height:' . $height . 'px;';
		} elseif ( 'room' === $view ) {
			$box = 'position:relative;width:100%;height:0;padding-top:calc(56.25% + 180px);';
		} else {
			$box = 'position:relative;width:100%;height:' . self::LIST_HEIGHT . 'px;';
		}
		return sprintf(
			'<div class="%1$s" style="%2$s"><iframe src="%3$s" title="%4$s" allow="autoplay; fullscreen; picture-in-picture; encrypted-media" allowfullscreen style="position:absolute;top:0;left:0;width:100%%;height:100%%;border:0;"></iframe></div>',
			esc_attr( trim( 'autowebinar-live autowebinar-live-' . $view . ' ' . $classes ) ),
			esc_attr( $box ),
			esc_url( $src ),
			esc_attr( $title )
		);
	}
}
