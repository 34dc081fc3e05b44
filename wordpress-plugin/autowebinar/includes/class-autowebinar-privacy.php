<?php
/**
 * Privacy: the personal-data exporter and eraser, and the suggested privacy-policy text.
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

/**
 * Hooks into WordPress's privacy tools (Tools → Export / Erase Personal Data).
 *
 * The exporter lists the user's AutoWebinar (autowebinar_*) and live webinar (livewebinar_*)
 * user meta. The eraser deletes exactly those keys (WordPress's delete API): it is the one
 * place where this plugin writes, and only on an administrator's explicit erasure request,
 * which WordPress confirms with the user by e-mail first.
 */
final class Autowebinar_Privacy {

	/** The keys the AutoWebinar service writes (DESIGN §3). */
	const AUTOWEBINAR_KEYS = array(
		'autowebinar_session_id',
		'autowebinar_started_at',
		'autowebinar_last_position_sec',
		'autowebinar_progress_percent',
		'autowebinar_completed',
		'autowebinar_cta_clicked_at',
		'autowebinar_last_seen_at',
	);

	/** The keys of the live webinars module (DESIGN §7). */
	const LIVEWEBINAR_KEYS = array(
		'livewebinar_slot_id',
		'livewebinar_slot_starts_at',
		'livewebinar_registered_at',
		'livewebinar_joined_at',
	);

	const ID = 'autowebinar';

	/**
	 * Hooks the exporter, the eraser and the policy text.
	 */
	public static function register(): void {
		add_filter( 'wp_privacy_personal_data_exporters', array( __CLASS__, 'add_exporter' ) );
		add_filter( 'wp_privacy_personal_data_erasers', array( __CLASS__, 'add_eraser' ) );
		add_action( 'admin_init', array( __CLASS__, 'add_policy_content' ) );
	}

	/**
	 * Every key this plugin's service may have stored for a user.
	 *
	 * @return string[]
	 */
	public static function keys(): array {
		return array_merge( self::AUTOWEBINAR_KEYS, self::LIVEWEBINAR_KEYS );
	}

	/**
	 * Registers the exporter.
	 *
	 * @param array<string, array<string, mixed>> $exporters Exporters by id.
	 * @return array<string, array<string, mixed>>
	 */
	public static function add_exporter( $exporters ) {
		$exporters[ self::ID ] = array(
			'exporter_friendly_name' => __( 'AutoWebinar viewing and live webinar registration', 'autowebinar' ),
			'callback'               => array( __CLASS__, 'export' ),
		);
		return $exporters;
	}

	/**
	 * Registers the eraser.
	 *
	 * @param array<string, array<string, mixed>> $erasers Erasers by id.
	 * @return array<string, array<string, mixed>>
	 */
	public static function add_eraser( $erasers ) {
		$erasers[ self::ID ] = array(
			'eraser_friendly_name' => __( 'AutoWebinar viewing and live webinar registration', 'autowebinar' ),
			'callback'             => array( __CLASS__, 'erase' ),
		);
		return $erasers;
	}

	/**
	 * The exporter: one item with every stored key of the user, as WordPress reads them.
	 *
	 * @param string $email The user's e-mail address.
	 * @param int    $page  Page number (everything fits on one page).
	 * @return array{data: array<int, array<string, mixed>>, done: bool}
	 */
	public static function export( $email, $page = 1 ): array {
		$user = get_user_by( 'email', (string) $email );
		if ( ! $user ) {
			return array(
				'data' => array(),
				'done' => true,
			);
		}
		Autowebinar_Progress::refresh( array( (int) $user->ID ) ); // the service writes directly.
		$data = array();
		foreach ( self::keys() as $key ) {
			if ( metadata_exists( 'user', $user->ID, $key ) ) {
				$data[] = array(
					'name'  => $key,
					'value' => (string) get_user_meta( $user->ID, $key, true ),
				);
			}
		}
		if ( array() === $data ) {
			return array(
				'data' => array(),
				'done' => true,
			);
		}
		return array(
			'data' => array(
				array(
					'group_id'          => self::ID,
					'group_label'       => __( 'AutoWebinar', 'autowebinar' ),
					'group_description' => __( 'Viewing progress of the webinar recording and the chosen live webinar time.', 'autowebinar' ),
					'item_id'           => self::ID . '-' . $user->ID,
					'data'              => $data,
				),
			),
			'done' => true,
		);
	}

	/**
	 * The eraser: deletes every AutoWebinar and live webinar key of the user.
	 *
	 * @param string $email The user's e-mail address.
	 * @param int    $page  Page number (everything fits on one page).
	 * @return array{items_removed: bool, items_retained: bool, messages: string[], done: bool}
	 */
	public static function erase( $email, $page = 1 ): array {
		$user    = get_user_by( 'email', (string) $email );
		$removed = false;
		if ( $user ) {
			foreach ( self::keys() as $key ) {
				if ( metadata_exists( 'user', $user->ID, $key ) ) {
					// The plugin's only write, on an explicit erasure request (see the class doc).
					$removed = delete_user_meta( $user->ID, $key ) || $removed;
				}
			}
		}
		return array(
			'items_removed'  => $removed,
			'items_retained' => false,
			'messages'       => $removed
				? array( __( 'AutoWebinar events already delivered to the CRM (webhook receivers) are kept there; erase them in the CRM as well.', 'autowebinar' ) )
				: array(),
			'done'           => true,
		);
	}

	/**
	 * Suggested text for the site's privacy policy (Settings → Privacy → Policy Guide).
	 */
	public static function add_policy_content(): void {
		if ( ! function_exists( 'wp_add_privacy_policy_content' ) ) {
			return;
		}
		$paragraphs = array(
			__( 'When you watch the webinar recording, we store in your user account: an identifier of your viewing session, when it started, the position you reached in the recording, your progress (0, 25, 50, 75 or 100 percent), whether you watched it to the end, when you last watched, and when you followed the offer at the end, if you did. If you choose a time for a live webinar, we store the chosen time, when you chose it and when you entered the live room.', 'autowebinar' ),
			__( 'These viewing and registration events are sent to our customer relationship management system (CRM): the event, its time, your user ID, the referral code you came with, and for live webinars the chosen time and whether you opened our notifications or followed their links (tracking links and an image in our e-mails). Opening an e-mail may be recorded by your mail provider loading its images.', 'autowebinar' ),
			__( 'When you follow the offer at the end of the webinar, you are sent to our partner\'s website; the link carries your user ID and referral code so that the partner can attribute your visit.', 'autowebinar' ),
			__( 'You can ask for an export or the erasure of this data. Erasure deletes it from your account here; events already sent to the CRM are erased there on request.', 'autowebinar' ),
		);
		$html = '';
		foreach ( $paragraphs as $paragraph ) {
			$html .= "<p>" . esc_html( $paragraph ) . "</p>";
		}
		wp_add_privacy_policy_content( __( 'AutoWebinar', 'autowebinar' ), wp_kses_post( $html ) );
	}
}
