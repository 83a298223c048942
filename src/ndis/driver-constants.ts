/**
 * Constants of the NDIS 6 driver model (ndis.h, objectheader.h, ntddndis.h): object header types and revisions,
 * the flags passed with sends, receives, returns and completions, driver-model statuses that the kernel's status
 * table does not already hold, and the enumerations that bind and attach parameters carry.
 */

// --- NDIS_OBJECT_HEADER.Type values for the driver-model structures ---------------------------------------------

export const NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS = 0x81;
export const NDIS_OBJECT_TYPE_BIND_PARAMETERS = 0x86;
export const NDIS_OBJECT_TYPE_OPEN_PARAMETERS = 0x87;
export const NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS = 0x8a;
export const NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS = 0x8b;
export const NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES = 0x8d;
export const NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS = 0x95;
export const NDIS_OBJECT_TYPE_OID_REQUEST = 0x96;
export const NDIS_OBJECT_TYPE_STATUS_INDICATION = 0x98;
export const NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS = 0x99;
export const NDIS_OBJECT_TYPE_FILTER_PAUSE_PARAMETERS = 0x9a;
export const NDIS_OBJECT_TYPE_FILTER_RESTART_PARAMETERS = 0x9b;
export const NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES = 0x9e;
export const NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES = 0x9f;
export const NDIS_OBJECT_TYPE_PROTOCOL_RESTART_PARAMETERS = 0xa3;

// --- Revisions -------------------------------------------------------------------------------------------------

export const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1 = 1;
export const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2 = 2;
export const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3 = 3;
export const NDIS_FILTER_CHARACTERISTICS_REVISION_1 = 1;
export const NDIS_FILTER_CHARACTERISTICS_REVISION_2 = 2;
export const NDIS_FILTER_CHARACTERISTICS_REVISION_3 = 3;
export const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 = 1;
export const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2 = 2;
export const NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1 = 1;
export const NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_2 = 2;
export const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1 = 1;
export const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2 = 2;
export const NDIS_FILTER_ATTRIBUTES_REVISION_1 = 1;
export const NDIS_OPEN_PARAMETERS_REVISION_1 = 1;
export const NDIS_BIND_PARAMETERS_REVISION_1 = 1;
export const NDIS_OID_REQUEST_REVISION_1 = 1;
export const NDIS_STATUS_INDICATION_REVISION_1 = 1;
export const NDIS_LINK_STATE_REVISION_1 = 1;

// --- Sizes (RTL_SIZEOF_THROUGH_FIELD of each revision's last field, x64 layout of ndis.h; decided from the
// header's field order, since wdknet's structures are objects and have no C layout of their own) --------------

export const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1 = 136;
export const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2 = 152;
export const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3 = 160;
export const NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1 = 200;
export const NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_2 = 224;
export const NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_3 = 240;
export const NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 = 120;
export const NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2 = 128;
export const NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1 = 8;
export const NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1 = 28;
export const NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1 = 216;
export const NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1 = 52;
export const NDIS_SIZEOF_LINK_STATE_REVISION_1 = 40;
export const NDIS_SIZEOF_STATUS_INDICATION_REVISION_1 = 112;

/** The NDIS major version drivers declare in their characteristics (this model is NDIS 6.x). */
export const NDIS_MINIPORT_MAJOR_VERSION = 6;
/** NDIS 6.30: the minor version wdknet reports (decided: any 6.x minor version registers). */
export const NDIS_MINIPORT_MINOR_VERSION = 30;

// --- Flags ------------------------------------------------------------------------------------------------------

/** NdisMIndicateReceiveNetBufferLists / NdisFIndicateReceiveNetBufferLists / receive handlers. */
export const NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL = 0x00000001;
export const NDIS_RECEIVE_FLAGS_RESOURCES = 0x00000002;
export const NDIS_RECEIVE_FLAGS_SINGLE_ETHER_TYPE = 0x00000100;
export const NDIS_RECEIVE_FLAGS_SINGLE_VLAN = 0x00000200;
export const NDIS_RECEIVE_FLAGS_PERFECT_FILTERED = 0x00000400;
export const NDIS_RECEIVE_FLAGS_SINGLE_QUEUE = 0x00000800;
export const NDIS_RECEIVE_FLAGS_SHARED_MEMORY_INFO_VALID = 0x00001000;
export const NDIS_RECEIVE_FLAGS_MORE_NBLS = 0x00002000;

/** Return flags (MiniportReturnNetBufferLists, NdisReturnNetBufferLists, NdisFReturnNetBufferLists). */
export const NDIS_RETURN_FLAGS_DISPATCH_LEVEL = 0x00000001;
export const NDIS_RETURN_FLAGS_SINGLE_QUEUE = 0x00000002;

/** Send flags (NdisSendNetBufferLists, NdisFSendNetBufferLists, send handlers). */
export const NDIS_SEND_FLAGS_DISPATCH_LEVEL = 0x00000001;
export const NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK = 0x00000002;
export const NDIS_SEND_FLAGS_SINGLE_QUEUE = 0x00000004;

/** Send-complete flags (NdisMSendNetBufferListsComplete, NdisFSendNetBufferListsComplete, complete handlers). */
export const NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL = 0x00000001;
export const NDIS_SEND_COMPLETE_FLAGS_SINGLE_QUEUE = 0x00000002;

/** NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES.AttributeFlags. */
export const NDIS_MINIPORT_ATTRIBUTES_HARDWARE_DEVICE = 0x00000001;
export const NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM = 0x00000002;
export const NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK = 0x00000004;
export const NDIS_MINIPORT_ATTRIBUTES_NOT_CO_NDIS = 0x00000008;
export const NDIS_MINIPORT_ATTRIBUTES_DO_NOT_BIND_TO_ALL_CO = 0x00000010;
export const NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND = 0x00000020;
export const NDIS_MINIPORT_ATTRIBUTES_BUS_MASTER = 0x00000040;

/** The default port (NdisMIndicateReceiveNetBufferLists PortNumber). */
export const NDIS_DEFAULT_PORT_NUMBER = 0;
/** NDIS_MAX_PHYS_ADDRESS_LENGTH: bytes reserved for a MAC address in NDIS structures. */
export const NDIS_MAX_PHYS_ADDRESS_LENGTH = 32;

// --- Statuses not in the kernel's table ------------------------------------------------------------------------

export const NDIS_STATUS_NOT_ACCEPTED = 0x00010003;
export const NDIS_STATUS_MEDIA_CONNECT = 0x4001000b;
export const NDIS_STATUS_MEDIA_DISCONNECT = 0x4001000c;
export const NDIS_STATUS_LINK_STATE = 0x40010017;
export const NDIS_STATUS_BAD_VERSION = 0xc0010004 | 0;
export const NDIS_STATUS_BAD_CHARACTERISTICS = 0xc0010005 | 0;
export const NDIS_STATUS_ADAPTER_NOT_FOUND = 0xc0010006 | 0;
export const NDIS_STATUS_OPEN_FAILED = 0xc0010007 | 0;
export const NDIS_STATUS_ADAPTER_NOT_READY = 0xc0010011 | 0;
export const NDIS_STATUS_ADAPTER_NOT_OPEN = 0xc0010012 | 0;
export const NDIS_STATUS_INVALID_OID = 0xc0010017 | 0;
export const NDIS_STATUS_ADAPTER_REMOVED = 0xc0010018 | 0;
export const NDIS_STATUS_UNSUPPORTED_MEDIA = 0xc0010019 | 0;

// --- Enumerations -----------------------------------------------------------------------------------------------

/** NDIS_MEDIUM */
export const NdisMedium802_3 = 0;
export const NdisMedium802_5 = 1;
export const NdisMediumWan = 3;
export const NdisMediumNative802_11 = 16;
export const NdisMediumIP = 19;

/** NDIS_PHYSICAL_MEDIUM */
export const NdisPhysicalMediumUnspecified = 0;
export const NdisPhysicalMedium802_3 = 14;

/** NET_IF_MEDIA_CONNECT_STATE */
export const MediaConnectStateUnknown = 0;
export const MediaConnectStateConnected = 1;
export const MediaConnectStateDisconnected = 2;

/** NET_IF_MEDIA_DUPLEX_STATE */
export const MediaDuplexStateUnknown = 0;
export const MediaDuplexStateHalf = 1;
export const MediaDuplexStateFull = 2;

/** NET_IF_ACCESS_TYPE */
export const NET_IF_ACCESS_LOOPBACK = 1;
export const NET_IF_ACCESS_BROADCAST = 2;
export const NET_IF_ACCESS_POINT_TO_POINT = 3;

/** NET_IF_DIRECTION_TYPE */
export const NET_IF_DIRECTION_SENDRECEIVE = 0;

/** NET_IF_CONNECTION_TYPE */
export const NET_IF_CONNECTION_DEDICATED = 1;

/** IANA ifType values (ipifcons.h). */
export const IF_TYPE_ETHERNET_CSMACD = 6;
export const IF_TYPE_SOFTWARE_LOOPBACK = 24;

/** NDIS_HALT_ACTION */
export const NdisHaltDeviceDisabled = 0;
export const NdisHaltDeviceInstanceDeInitialized = 1;
export const NdisHaltDevicePoweredDown = 2;
export const NdisHaltDeviceSurpriseRemoved = 3;
export const NdisHaltDeviceFailed = 4;
export const NdisHaltDeviceInitializationFailed = 5;
export const NdisHaltDeviceStopped = 6;

/** NET_PNP_EVENT_CODE */
export const NetEventSetPower = 0;
export const NetEventQueryPower = 1;
export const NetEventQueryRemoveDevice = 2;
export const NetEventCancelRemoveDevice = 3;
export const NetEventReconfigure = 4;
export const NetEventBindList = 5;
export const NetEventBindsComplete = 6;
export const NetEventPnPCapabilities = 7;
export const NetEventPause = 8;
export const NetEventRestart = 9;

/** NDIS_REQUEST_TYPE */
export const NdisRequestQueryInformation = 0;
export const NdisRequestSetInformation = 1;
export const NdisRequestQueryStatistics = 2;
export const NdisRequestMethod = 12;

/** NDIS packet filter bits (OID_GEN_CURRENT_PACKET_FILTER). */
export const NDIS_PACKET_TYPE_DIRECTED = 0x00000001;
export const NDIS_PACKET_TYPE_MULTICAST = 0x00000002;
export const NDIS_PACKET_TYPE_ALL_MULTICAST = 0x00000004;
export const NDIS_PACKET_TYPE_BROADCAST = 0x00000008;
export const NDIS_PACKET_TYPE_PROMISCUOUS = 0x00000020;

/** A few general OIDs a minimal miniport answers. */
export const OID_GEN_SUPPORTED_LIST = 0x00010101;
export const OID_GEN_MAXIMUM_FRAME_SIZE = 0x00010106;
export const OID_GEN_CURRENT_PACKET_FILTER = 0x0001010e;
export const OID_GEN_CURRENT_LOOKAHEAD = 0x0001010f;
export const OID_GEN_MAXIMUM_TOTAL_SIZE = 0x00010111;
/** OID_GEN_VLAN_ID: the NIC's configured VLAN identifier (NDIS_VLAN_ID, the 12 low bits of a ULONG). */
export const OID_GEN_VLAN_ID = 0x0001021c;
/** MacOptions: the NIC handles 802.1p priority in NBL information (Ieee8021QNetBufferListInfo). */
export const NDIS_MAC_OPTION_8021P_PRIORITY = 0x00000040;
/** MacOptions: the NIC inserts and removes 802.1Q tags, carrying them in Ieee8021QNetBufferListInfo. */
export const NDIS_MAC_OPTION_8021Q_VLAN = 0x00000200;
export const OID_GEN_XMIT_OK = 0x00020101;
export const OID_GEN_RCV_OK = 0x00020102;
export const OID_GEN_RCV_NO_BUFFER = 0x00020105;
export const OID_802_3_PERMANENT_ADDRESS = 0x01010101;
export const OID_802_3_CURRENT_ADDRESS = 0x01010102;
