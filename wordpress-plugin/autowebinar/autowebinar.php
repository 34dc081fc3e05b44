<?php
/**
 * Plugin Name:       AutoWebinar
 * Description:       Shows an honest automated webinar (a recording, labelled as such) from the AutoWebinar service with the [autowebinar] shortcode, the live webinars' schedule and room with [autowebinar_live], and viewing progress in wp-admin. Configured in wp-config.php; writes nothing to the database.
 * Version:           1.1.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * Author:            autowebinar-wp
 * License:           MIT
 * License URI:       https://opensource.org/licenses/MIT
 * Text Domain:       autowebinar
 * Domain Path:       /languages
 * Update URI:        false
 *
 * @package AutoWebinar
 */

defined( 'ABSPATH' ) || exit;

define( 'AUTOWEBINAR_PLUGIN_VERSION', '1.1.0' );
define( 'AUTOWEBINAR_PLUGIN_FILE', __FILE__ );
define( 'AUTOWEBINAR_PLUGIN_DIR', plugin_dir_path( __FILE__ ) );

require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/class-autowebinar-config.php';
require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/class-autowebinar-token.php';
require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/class-autowebinar-progress.php';
require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/class-autowebinar-shortcode.php';
require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/class-autowebinar-privacy.php';
require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/class-autowebinar-live-shortcode.php';

/**
 * Mints a signed embed token (HS256 JWT) for a WordPress user.
 *
 * An admin token is minted only for a user who has the AutoWebinar admin capability
 * (Autowebinar_Config::admin_capability(), filterable); WordPress checks it here, at minting
 * time, and the service trusts the token's role.
 *
 * @param int    $user_id WordPress user id (the token's `sub`, as a string).
 * @param string $role    'viewer' or 'admin'.
 * @return string|WP_Error The token, or a WP_Error when the plugin is not configured, the
 *                         user does not exist, or an admin token is asked for a non-admin.
 */
function autowebinar_mint_token( $user_id, $role = 'viewer' ) {
	if ( ! Autowebinar_Config::is_configured() ) {
		return new WP_Error(
			'autowebinar_not_configured',
			implode( ' ', Autowebinar_Config::problems() )
		);
	}
	$user_id = (int) $user_id;
	$role    = (string) $role;
	if ( ! in_array( $role, Autowebinar_Token::ROLES, true ) ) {
		return new WP_Error( 'autowebinar_bad_role', __( 'The role must be viewer or admin.', 'autowebinar' ) );
	}
	if ( $user_id <= 0 || ! get_userdata( $user_id ) ) {
		return new WP_Error( 'autowebinar_no_user', __( 'There is no such user.', 'autowebinar' ) );
	}
	if ( 'admin' === $role && ! user_can( $user_id, Autowebinar_Config::admin_capability() ) ) {
		return new WP_Error( 'autowebinar_forbidden', __( 'This user may not see the AutoWebinar dashboard.', 'autowebinar' ) );
	}
	return Autowebinar_Token::for_user( $user_id, $role );
}

/**
 * Loads translations and registers the shortcode.
 */
function autowebinar_init() {
	load_plugin_textdomain( 'autowebinar', false, dirname( plugin_basename( AUTOWEBINAR_PLUGIN_FILE ) ) . '/languages' );
	Autowebinar_Shortcode::register();
	Autowebinar_Live_Shortcode::register();
}
add_action( 'init', 'autowebinar_init' );
Autowebinar_Privacy::register();

if ( is_admin() ) {
	require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/admin/class-autowebinar-admin.php';
	require_once AUTOWEBINAR_PLUGIN_DIR . 'includes/admin/class-autowebinar-users.php';
	Autowebinar_Admin::register();
	Autowebinar_Users::register();
}
