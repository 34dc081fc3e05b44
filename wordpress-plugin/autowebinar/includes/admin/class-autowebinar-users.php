<?php
/**
 * The "AutoWebinar" column on Users and the read-only box on the profile screens.
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * Shows each user's progress, completion, CTA click and last visit. Read-only.
 */
final class Autowebinar_Users {

	const COLUMN = 'autowebinar';

	/**
	 * Whether this request already refreshed the meta of the users listed on users.php.
	 *
	 * @var bool
	 */
	private static $list_refreshed = false;

	/**
	 * Hooks the column and the profile box.
	 */
	public static function register(): void {
		add_filter( 'manage_users_columns', array( __CLASS__, 'add_column' ) );
		add_filter( 'manage_users_custom_column', array( __CLASS__, 'render_column' ), 10, 3 );
		add_action( 'show_user_profile', array( __CLASS__, 'render_profile' ) );
		add_action( 'edit_user_profile', array( __CLASS__, 'render_profile' ) );
	}

	/**
	 * Adds the column.
	 *
	 * @param array<string, string> $columns Column id => header.
	 * @return array<string, string>
	 */
	public static function add_column( $columns ) {
		if ( current_user_can( Autowebinar_Config::admin_capability() ) ) {
			$columns[ self::COLUMN ] = __( 'AutoWebinar', 'autowebinar' );
		}
		return $columns;
	}

	/**
	 * Renders one cell.
	 *
	 * @param string $output  Output from earlier filters.
	 * @param string $column  Column id.
	 * @param int    $user_id The row's user.
	 */
	public static function render_column( $output, $column, $user_id ) {
		if ( self::COLUMN !== $column ) {
			return $output;
		}
		$state = Autowebinar_Progress::read( (int) $user_id, ! self::refresh_listed_users( (int) $user_id ) );
		if ( null === $state ) {
			return $output . self::none( __( 'No webinar session', 'autowebinar' ) );
		}
		$lines = array(
			sprintf(
				'<strong class="autowebinar-progress">%s</strong>',
				/* translators: %d: viewing progress in percent. */
				esc_html( sprintf( __( '%d%%', 'autowebinar' ), $state['progress_percent'] ) )
			),
			/* translators: %s: Yes or No. */
			esc_html( sprintf( __( 'Completed: %s', 'autowebinar' ), Autowebinar_Progress::format_bool( $state['completed'] ) ) ),
			/* translators: %s: a date and time, or a dash. */
			esc_html( sprintf( __( 'CTA clicked: %s', 'autowebinar' ), Autowebinar_Progress::format_datetime( $state['cta_clicked_at'] ) ) ),
			/* translators: %s: a date and time, or a dash. */
			esc_html( sprintf( __( 'Last seen: %s', 'autowebinar' ), Autowebinar_Progress::format_datetime( $state['last_seen_at'] ) ) ),
		);
		return $output . '<div class="autowebinar-cell">' . implode( '<br />', $lines ) . '</div>';
	}

	/**
	 * Refreshes, in one query, the meta of every user listed on users.php, once per request.
	 *
	 * WordPress has already primed these users' meta (WP_User_Query with fields 'all_with_meta'
	 * calls cache_users()), but from the object cache, which may be persistent and stale.
	 *
	 * @param int $user_id The user of the cell being rendered.
	 * @return bool Whether $user_id's meta was just refreshed.
	 */
	private static function refresh_listed_users( int $user_id ): bool {
		global $wp_list_table;
		if ( ! ( $wp_list_table instanceof WP_Users_List_Table ) || ! is_array( $wp_list_table->items ) ) {
			return false;
		}
		$ids = array_map( 'intval', array_keys( $wp_list_table->items ) );
		if ( ! self::$list_refreshed ) {
			Autowebinar_Progress::refresh( $ids );
			self::$list_refreshed = true;
		}
		return in_array( $user_id, $ids, true );
	}

	/**
	 * The read-only box on profile.php and user-edit.php, for users with the AutoWebinar admin capability.
	 *
	 * @param WP_User $user The profile's user.
	 */
	public static function render_profile( $user ): void {
		if ( ! ( $user instanceof WP_User ) || ! current_user_can( Autowebinar_Config::admin_capability() ) ) {
			return;
		}
		$state = Autowebinar_Progress::read( (int) $user->ID );
		echo '<h2 id="autowebinar">' . esc_html__( 'AutoWebinar', 'autowebinar' ) . '</h2>';
		echo '<table class="form-table autowebinar-profile" role="presentation"><tbody>';
		if ( null === $state ) {
			self::row( __( 'Session', 'autowebinar' ), self::none( __( 'No webinar session yet', 'autowebinar' ) ) );
		} else {
			$rows = array(
				__( 'Session', 'autowebinar' )     => '<code>' . esc_html( $state['session_id'] ) . '</code>',
				__( 'Started', 'autowebinar' )     => esc_html( Autowebinar_Progress::format_datetime( $state['started_at'] ) ),
				__( 'Position', 'autowebinar' )    => esc_html( Autowebinar_Progress::format_position( $state['last_position_sec'] ) ),
				/* translators: %d: viewing progress in percent. */
				__( 'Progress', 'autowebinar' )    => esc_html( sprintf( __( '%d%%', 'autowebinar' ), $state['progress_percent'] ) ),
				__( 'Completed', 'autowebinar' )   => esc_html( Autowebinar_Progress::format_bool( $state['completed'] ) ),
				__( 'CTA clicked', 'autowebinar' ) => esc_html( Autowebinar_Progress::format_datetime( $state['cta_clicked_at'] ) ),
				__( 'Last seen', 'autowebinar' )   => esc_html( Autowebinar_Progress::format_datetime( $state['last_seen_at'] ) ),
			);
			foreach ( $rows as $label => $html ) {
				self::row( $label, $html );
			}
		}
		echo '</tbody></table>';
		printf(
			'<p class="description">%s</p>',
			esc_html(
				sprintf(
					/* translators: %s: the site's timezone, e.g. Europe/Moscow or UTC+3. */
					__( 'Read-only: written by the AutoWebinar service. Times are in the site timezone (%s).', 'autowebinar' ),
					wp_timezone_string()
				)
			)
		);
	}

	/**
	 * One profile table row.
	 *
	 * @param string $label Plain text.
	 * @param string $html  Already escaped HTML.
	 */
	private static function row( string $label, string $html ): void {
		echo '<tr><th scope="row">' . esc_html( $label ) . '</th><td>' . $html . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped by the caller.
	}

	/**
	 * A dash for sighted users, a phrase for screen readers.
	 *
	 * @param string $label What the dash means.
	 */
	private static function none( string $label ): string {
		return '<span aria-hidden="true">' . esc_html( Autowebinar_Progress::NONE ) . '</span><span class="screen-reader-text">' . esc_html( $label ) . '</span>';
	}
}
